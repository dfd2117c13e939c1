# Optional stage (variant_effects.enabled): each variant of the VCF in the regions scored by the model's own
# head and explained through the SAE features it moves, labelled by annotate (genolens variant-effects).

if VARIANT_EFFECTS:

    rule variant_effects:
        input:
            sae=SAE,
            labels=f"{OUTDIR}/features/annotate",
            reference=INPUTS["reference"],
            vcf=INPUTS["vcf"],
            regions=INPUTS["regions"],
        output:
            directory(f"{OUTDIR}/variants/effects"),
        log:
            f"{LOGS}/variant_effects.log",
        threads: config["variant_effects"]["threads"]
        resources:
            mem_mb=config["variant_effects"]["mem_mb"],
            runtime=config["variant_effects"]["runtime"],
            gpu=config["variant_effects"]["gpu"],
        params:
            model=config["embed"]["model"],
            width=config["variant_effects"]["width"],
            top=config["variant_effects"]["top"],
            max_pages=config["variant_effects"]["max_pages"],
            device=config["variant_effects"]["device"],
            extra=config["variant_effects"]["extra"],
        shell:
            "genolens variant-effects --model {params.model} --reference {input.reference} --vcf {input.vcf}"
            " --regions {input.regions} --sae {input.sae} --labels {input.labels} --width {params.width}"
            " --top {params.top} --max-pages {params.max_pages} --device {params.device} --quiet {params.extra}"
            " --out {output} > {log} 2>&1"

if VARIANT_EFFECTS and BASELINE:

    # The variants behind each gene's features: the best feature of every gene whose features' cis test is
    # significant, the variants inside that feature's own window ranked by how much they move it, each said to be the gene's genotype eQTL lead
    # or not, with its LD (r²) with the lead over the cohort (genolens variants-behind).
    rule variants_behind:
        input:
            effects=f"{OUTDIR}/variants/effects",
            baseline=f"{OUTDIR}/stats/baseline/baseline.json",
            vcf=INPUTS["vcf"],
            windows=WINDOWS,
        output:
            f"{OUTDIR}/variants/variants_behind.tsv",
        log:
            f"{LOGS}/variants_behind.log",
        threads: 1
        resources:
            mem_mb=config["variant_effects"]["mem_mb"],
            runtime=config["variant_effects"]["runtime"],
        params:
            baseline=lambda wildcards, input: os.path.dirname(input.baseline),
            top=config["variant_effects"]["top"],
        shell:
            "genolens variants-behind --effects {input.effects} --associations {params.baseline}"
            " --vcf {input.vcf} --regions {input.windows} --top {params.top} --out {output} > {log} 2>&1"
