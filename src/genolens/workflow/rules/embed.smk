# Stage 2: the scatter. split-fasta cuts the sequences into config["shards"] contiguous blocks of whole
# sequences (a fixed number, so no checkpoint is needed); one embed job per shard writes its own store.
# On a cluster each shard is one job with the embed resources (GPUs included).


rule split_fasta:
    input:
        fasta=SEQUENCES,
        coords=COORDS if HAS_COORDS else [],
    output:
        fasta=expand(f"{OUTDIR}/shards/shard-{{shard}}.fa", shard=SHARDS),
        coords=expand(f"{OUTDIR}/shards/shard-{{shard}}.coords.tsv", shard=SHARDS) if HAS_COORDS else [],
    log:
        f"{LOGS}/split_fasta.log",
    threads: 1
    resources:
        mem_mb=config["light"]["mem_mb"],
        runtime=config["light"]["runtime"],
        gpu=0,
    params:
        shards=len(SHARDS),
        out_dir=lambda wildcards, output: os.path.dirname(output.fasta[0]),
    shell:
        "genolens split-fasta --in {input.fasta} --shards {params.shards} --out-dir {params.out_dir} > {log} 2>&1"


rule embed:
    input:
        fasta=f"{OUTDIR}/shards/shard-{{shard}}.fa",
        # read by embed from beside the FASTA: reference positions of every base
        coords=f"{OUTDIR}/shards/shard-{{shard}}.coords.tsv" if HAS_COORDS else [],
    output:
        shard_store(f"{OUTDIR}/embed/shard-{{shard}}"),
    log:
        f"{LOGS}/embed/shard-{{shard}}.log",
    threads: config["embed"]["threads"]
    resources:
        mem_mb=config["embed"]["mem_mb"],
        runtime=config["embed"]["runtime"],
        gpu=config["embed"]["gpu"],
    params:
        model=config["embed"]["model"],
        layers=config["embed"]["layers"],
        device=config["embed"]["device"],
        dtype=config["embed"]["dtype"],
        batch_tokens=config["embed"]["batch_tokens"],
        shard_size=config["embed"]["shard_size"],
        extra=config["embed"]["extra"],
    shell:
        "genolens embed --model {params.model} --layers {params.layers} --input {input.fasta} --out {output}"
        " --device {params.device} --dtype {params.dtype} --batch-tokens {params.batch_tokens}"
        " --shard-size {params.shard_size} --quiet {params.extra} > {log} 2>&1"
