# Stage 3: the gather. One activation store from the per-shard stores, in shard order (= sequence order).


rule merge_stores:
    input:
        expand(f"{OUTDIR}/embed/shard-{{shard}}", shard=SHARDS),
    output:
        directory(STORE),
    log:
        f"{LOGS}/merge_stores.log",
    threads: 1
    resources:
        mem_mb=config["gather"]["mem_mb"],
        runtime=config["gather"]["runtime"],
        gpu=0,
    params:
        extra=config["gather"]["extra"],
    shell:
        "genolens merge-stores --out {output} {params.extra} {input} > {log} 2>&1"
