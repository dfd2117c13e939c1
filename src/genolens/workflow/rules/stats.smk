# Stage 6: per-sample features, ancestry PCs, feature-phenotype association with confound diagnostics
# (one job per phenotype) and the embedding audit. Only with personal haplotypes (inputs.vcf).

ASSOCIATE = f"{OUTDIR}/stats/associate/{{phenotype}}"
PCS = config["ancestry"]["pcs"]


rule aggregate:
    """One row per sample: each SAE feature's statistic over the regions (haplotypes combined)."""
    input:
        store=STORE,
        sae=SAE,
        sheet=INPUTS.get("sample_sheet", []),
        # the windows as built (after the N policy), so that features and baseline see the same bases
        regions=WINDOWS if config["aggregate"]["per_region"] else [],
        carriers=CARRIERS if DISTINCT else [],
    output:
        FEATURES,
    log:
        f"{LOGS}/aggregate.log",
    threads: config["aggregate"]["threads"]
    resources:
        mem_mb=config["aggregate"]["mem_mb"],
        runtime=config["aggregate"]["runtime"],
        gpu=config["aggregate"]["gpu"],
    params:
        id_column=INPUTS["id_column"],
        stat=config["aggregate"]["stat"],
        haplotypes=config["aggregate"]["haplotypes"],
        regions=lambda wildcards, input: opt("--regions", input.regions),
        carriers=lambda wildcards, input: opt("--carriers", input.carriers),
        device=config["aggregate"]["device"],
        extra=config["aggregate"]["extra"],
    shell:
        "genolens aggregate --store {input.store} --sae {input.sae} --sample-sheet {input.sheet}"
        " --id-column {params.id_column} --stat {params.stat} --haplotypes {params.haplotypes} {params.regions}"
        " {params.carriers} --device {params.device} {params.extra} --out {output} > {log} 2>&1"


rule ancestry:
    """Genotype PCs of the sheet's samples (PLINK .eigenvec); needs only the VCF, so it runs beside embed."""
    input:
        vcf=ANCESTRY_VCF or [],
        sheet=INPUTS.get("sample_sheet", []),
    output:
        eigenvec=EIGENVEC,
        summary=ANCESTRY_SUMMARY,  # written beside the .eigenvec: SNVs kept by the filters, variance explained
    log:
        f"{LOGS}/ancestry.log",
    threads: config["ancestry"]["threads"]
    resources:
        mem_mb=config["ancestry"]["mem_mb"],
        runtime=config["ancestry"]["runtime"],
        gpu=0,
    params:
        id_column=INPUTS["id_column"],
        pcs=PCS,
        maf=config["ancestry"]["maf"],
        ld_r2=config["ancestry"]["ld_r2"],
        seed=config["ancestry"]["seed"],
        extra=config["ancestry"]["extra"],
    shell:
        "genolens ancestry --vcf {input.vcf} --sample-sheet {input.sheet} --id-column {params.id_column}"
        " --pcs {params.pcs} --maf {params.maf} --ld-r2 {params.ld_r2} --seed {params.seed} {params.extra}"
        " --out {output.eigenvec} > {log} 2>&1"


rule kinship:
    """KING-robust kinship of the sheet's samples (plink2's estimator): the pairs above the cutoff and the
    number of variants behind them, stated in the report; no sample is removed."""
    input:
        vcf=ANCESTRY_VCF or [],
        sheet=INPUTS.get("sample_sheet", []),
    output:
        pairs=f"{KINSHIP}.kin0",
        summary=f"{KINSHIP}.king.json",
    log:
        f"{LOGS}/kinship.log",
    threads: 1
    resources:
        mem_mb=config["ancestry"]["mem_mb"],
        runtime=config["ancestry"]["runtime"],
        gpu=0,
    params:
        id_column=INPUTS["id_column"],
        maf=config["ancestry"]["maf"],
        cutoff=config["ancestry"]["kinship_cutoff"],
        prefix=lambda wildcards, output: output.pairs[: -len(".kin0")],
    shell:
        "genolens kinship --vcf {input.vcf} --sample-sheet {input.sheet} --id-column {params.id_column}"
        " --maf {params.maf} --cutoff {params.cutoff} --out {params.prefix} > {log} 2>&1"


rule associate:
    """phenotype ~ covariates + PCs + feature for every feature; categories biomarker/confounded; plots."""
    input:
        features=FEATURES,
        eigenvec=EIGENVEC if PCS else [],
    output:
        table=f"{ASSOCIATE}/associations.tsv",
        summary=f"{ASSOCIATE}/associate.json",
        features=f"{ASSOCIATE}/features.h5ad",
        qq=f"{ASSOCIATE}/qq.png",
        volcano=f"{ASSOCIATE}/volcano.png",
        stratified=f"{ASSOCIATE}/stratified.tsv" if config["associate"]["stratify"] else [],
    log:
        f"{LOGS}/associate/{{phenotype}}.log",
    threads: config["associate"]["threads"]
    resources:
        mem_mb=config["associate"]["mem_mb"],
        runtime=config["associate"]["runtime"],
        gpu=0,
    params:
        out=lambda wildcards, output: os.path.dirname(output.table),
        binary="--binary" if config["associate"]["binary"] else "",
        covariates=opt("--covariates", ",".join(config["associate"]["covariates"])),
        # no PCs is a decision the config must state (ancestry.pcs: 0), passed on as --no-ancestry
        ancestry=f"--pcs {PCS} --eigenvec {EIGENVEC}" if PCS else "--no-ancestry",
        stratify=opt("--stratify", config["associate"]["stratify"]),
        alpha=config["associate"]["alpha"],
        extra=config["associate"]["extra"],
    shell:
        "genolens associate --features {input.features} --phenotype {wildcards.phenotype} {params.binary}"
        " {params.covariates} {params.ancestry} {params.stratify} --alpha {params.alpha} {params.extra}"
        " --out {params.out} > {log} 2>&1"


if BASELINE:

    rule baseline:
        """Per gene: model features against cis genotypes in predicting expression; a cis-eQTL scan."""
        input:
            features=FEATURES,
            eigenvec=EIGENVEC if PCS else [],
            vcf=INPUTS["vcf"],
            phenotypes=config["baseline"]["phenotypes"],
        output:
            table=f"{OUTDIR}/stats/baseline/baseline.tsv",
            eqtl=f"{OUTDIR}/stats/baseline/eqtl.tsv",
            summary=f"{OUTDIR}/stats/baseline/baseline.json",
            plot=f"{OUTDIR}/stats/baseline/baseline.png",
            features_cis=f"{OUTDIR}/stats/baseline/features_cis.tsv",
            qq=f"{OUTDIR}/stats/baseline/qq_genes.png",
        log:
            f"{LOGS}/baseline.log",
        threads: config["baseline"]["threads"]
        resources:
            mem_mb=config["baseline"]["mem_mb"],
            runtime=config["baseline"]["runtime"],
            gpu=0,
        params:
            out=lambda wildcards, output: os.path.dirname(output.table),
            covariates=opt("--covariates", ",".join(config["associate"]["covariates"])),
            ancestry=f"--pcs {PCS} --eigenvec {EIGENVEC}" if PCS else "--no-ancestry",
            window=opt("--cis-window", config["baseline"]["cis_window"]),
            mapping=opt("--cis-map", config["baseline"]["cis_map"]),
            genotype=("--genotype-regions" if config["baseline"]["genotype_regions"]
                      else f"--genotype-window {config['baseline']['genotype_window']}"),
            permutations=config["baseline"]["permutations"],
            folds=config["baseline"]["folds"],
            seed=config["baseline"]["seed"],
            extra=config["baseline"]["extra"],
        shell:
            "genolens baseline --features {input.features} --phenotypes {input.phenotypes} --vcf {input.vcf}"
            " {params.covariates} {params.ancestry} {params.window} {params.mapping}"
            " {params.genotype} --permutations {params.permutations}"
            " --folds {params.folds} --seed {params.seed} {params.extra} --out {params.out} > {log} 2>&1"


rule audit:
    """How well a cross-validated linear probe reads the population label and the ancestry PCs from the features."""
    input:
        features=FEATURES,
        eigenvec=EIGENVEC if PCS else [],
    output:
        table=f"{OUTDIR}/stats/audit/audit.tsv",
        summary=f"{OUTDIR}/stats/audit/audit.json",
    log:
        f"{LOGS}/audit.log",
    threads: config["audit"]["threads"]
    resources:
        mem_mb=config["audit"]["mem_mb"],
        runtime=config["audit"]["runtime"],
        gpu=0,
    params:
        out=lambda wildcards, output: os.path.dirname(output.table),
        labels=config["audit"]["labels"],
        pcs=lambda wildcards, input: f"--eigenvec {input.eigenvec} --pcs {PCS}" if input.eigenvec else "--pcs 0",
        folds=config["audit"]["folds"],
        permutations=config["audit"]["permutations"],
        bootstrap=config["audit"]["bootstrap"],
        seed=config["audit"]["seed"],
        extra=config["audit"]["extra"],
    shell:
        "genolens audit --features {input.features} --labels {params.labels} {params.pcs} --folds {params.folds}"
        " --permutations {params.permutations} --bootstrap {params.bootstrap} --seed {params.seed}"
        " {params.extra} --out {params.out} > {log} 2>&1"
