# Stage 5: interpret the SAE features (statistics, top contexts, concept alignment with the annotations,
# JASPAR motifs), then static HTML dashboards that open from disk.


rule annotate:
    input:
        sae=SAE,
        store=STORE,
        sequences=SEQUENCES,
        annotations=INPUTS["annotations"],
    output:
        directory(f"{OUTDIR}/features/annotate"),
    log:
        f"{LOGS}/annotate.log",
    threads: config["annotate"]["threads"]
    resources:
        mem_mb=config["annotate"]["mem_mb"],
        runtime=config["annotate"]["runtime"],
        gpu=0,
    params:
        annotations=" ".join(f"--annotations {path}" for path in INPUTS["annotations"]),
        contig_map=" ".join(f"--contig-map {pair}" for pair in INPUTS["contig_map"]),
        jaspar=opt("--jaspar", INPUTS.get("jaspar")),
        motifs="" if config["annotate"]["motifs"] else "--no-motifs",
        top_n=config["annotate"]["top_n"],
        flank=config["annotate"]["flank"],
        thresholds=config["annotate"]["thresholds"],
        recall=config["annotate"]["recall"],
        shuffles=config["annotate"]["shuffles"],
        max_motif_features=config["annotate"]["max_motif_features"],
        seed=config["annotate"]["seed"],
        extra=config["annotate"]["extra"],
    shell:
        "genolens annotate --sae {input.sae} --store {input.store} --sequences {input.sequences}"
        " {params.annotations} {params.contig_map} {params.jaspar} {params.motifs} --top-n {params.top_n}"
        " --flank {params.flank} --thresholds {params.thresholds} --recall {params.recall}"
        " --shuffles {params.shuffles} --max-motif-features {params.max_motif_features}"
        " --seed {params.seed} {params.extra} --out {output} > {log} 2>&1"


rule dashboard:
    input:
        f"{OUTDIR}/features/annotate",
    output:
        directory(f"{OUTDIR}/features/dashboard"),
    log:
        f"{LOGS}/dashboard.log",
    threads: 1
    resources:
        mem_mb=config["light"]["mem_mb"],
        runtime=config["light"]["runtime"],
        gpu=0,
    params:
        max_pages=config["annotate"]["max_pages"],
    shell:
        "genolens dashboard --in {input} --out {output} --max-pages {params.max_pages} > {log} 2>&1"
