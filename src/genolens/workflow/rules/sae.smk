# Stage 4: a sparse autoencoder on one layer of the merged store, then its held-out evaluation.


rule train_sae:
    input:
        STORE,
    output:
        directory(SAE),
    log:
        f"{LOGS}/train_sae.log",
    threads: config["sae"]["threads"]
    resources:
        mem_mb=config["sae"]["mem_mb"],
        runtime=config["sae"]["runtime"],
        gpu=config["sae"]["gpu"],
    params:
        layer=config["sae"]["layer"],
        arch=config["sae"]["arch"],
        k="" if config["sae"]["k"] is None else f"--k {config['sae']['k']}",
        width=config["sae"]["width"],
        tokens=config["sae"]["tokens"],
        batch_size=config["sae"]["batch_size"],
        lr=config["sae"]["lr"],
        heldout=config["sae"]["heldout_fraction"],
        seed=config["sae"]["seed"],
        device=config["sae"]["device"],
        extra=config["sae"]["extra"],
    shell:
        "genolens train-sae --store {input} --layer {params.layer} --arch {params.arch} {params.k}"
        " --width {params.width} --tokens {params.tokens} --batch-size {params.batch_size} --lr {params.lr}"
        " --heldout-fraction {params.heldout} --seeds {params.seed} --device {params.device} --no-progress"
        " {params.extra} --out {output} > {log} 2>&1"


rule eval_sae:
    input:
        sae=SAE,
        store=STORE,
        sequences=SEQUENCES,
    output:
        metrics=f"{OUTDIR}/sae_eval/eval.json",
        density=f"{OUTDIR}/sae_eval/eval.density.png",
    log:
        f"{LOGS}/eval_sae.log",
    threads: config["eval"]["threads"]
    resources:
        mem_mb=config["eval"]["mem_mb"],
        runtime=config["eval"]["runtime"],
        gpu=config["eval"]["gpu"],
    params:
        heldout=config["sae"]["heldout_fraction"],
        # loss recovered: run the model on held-out sequences with the SAE spliced in
        loss_recovered=(
            f"--model {config['embed']['model']} --sequences {SEQUENCES}"
            f" --max-sequences {config['eval']['max_sequences']}"
            if config["eval"]["loss_recovered"]
            else ""
        ),
        device=config["eval"]["device"],
        extra=config["eval"]["extra"],
    shell:
        "genolens eval-sae --sae {input.sae} --store {input.store} --heldout-fraction {params.heldout}"
        " {params.loss_recovered} --device {params.device} {params.extra} --out {output.metrics} > {log} 2>&1"
