# Stage 7: one self-contained HTML report (opens from disk) with the SAE metrics, links to the feature
# dashboards, the association tables with biomarker candidates and ancestry confounds, the audit, the plots.


rule report:
    input:
        report_inputs(),
        [config["inputs"]["gene_names"]] if config["inputs"].get("gene_names") else [],
    output:
        f"{OUTDIR}/report.html",
    log:
        f"{LOGS}/report.log",
    threads: 1
    resources:
        mem_mb=config["light"]["mem_mb"],
        runtime=config["light"]["runtime"],
        gpu=0,
    params:
        results=lambda wildcards, output: os.path.dirname(output[0]),
        top=config["report"]["top"],
        names=(f"--gene-names {config['inputs']['gene_names']}" if config["inputs"].get("gene_names") else ""),
    shell:
        "genolens report --in {params.results} --top {params.top} {params.names} --out {output} > {log} 2>&1"
