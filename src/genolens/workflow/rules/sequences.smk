# Stage 1: the sequences to embed, as one FASTA.
# Personal haplotypes of every sample-sheet sample over the regions (reference + VCF), reference
# sequences over the regions (reference only), or a given FASTA validated and normalised.


if PER_SAMPLE:

    rule check_samples:
        """Pre-flight: the sample sheet is readable and its samples are in the VCF (fails early)."""
        input:
            sheet=INPUTS["sample_sheet"],
            vcf=INPUTS["vcf"],
        output:
            f"{OUTDIR}/sequences/check-samples.txt",
        log:
            f"{LOGS}/check_samples.log",
        threads: 1
        resources:
            mem_mb=config["light"]["mem_mb"],
            runtime=config["light"]["runtime"],
            gpu=0,
        params:
            id_column=INPUTS["id_column"],
            # the phenotypes must parse as numbers (or 0/1): a typo fails here, not after the embedding
            types=opt("--binary" if config["associate"]["binary"] else "--numeric", ",".join(PHENOTYPES)),
        shell:
            "genolens check-samples --sheet {input.sheet} --vcf {input.vcf} --id-column {params.id_column}"
            " {params.types} > {output} 2> {log}"

    rule sequences:
        """Both haplotypes of every sheet sample over every region (each distinct one once with sequences.distinct),
        with coordinate map, variant report and the windows built."""
        input:
            reference=INPUTS["reference"],
            vcf=INPUTS["vcf"],
            regions=INPUTS["regions"],
            sheet=INPUTS["sample_sheet"],
            checked=rules.check_samples.output,
        output:
            fasta=SEQUENCES,
            coords=COORDS,
            report=f"{OUTDIR}/sequences/sequences.report.json",
            windows=WINDOWS,
            carriers=CARRIERS if DISTINCT else [],
        log:
            f"{LOGS}/sequences.log",
        threads: config["sequences"]["threads"]
        resources:
            mem_mb=config["sequences"]["mem_mb"],
            runtime=config["sequences"]["runtime"],
            gpu=0,
        params:
            id_column=INPUTS["id_column"],
            gaps=GAP_OPTIONS,
            distinct=f"--distinct --carriers {CARRIERS}" if DISTINCT else "",
            extra=config["sequences"]["extra"],
        shell:
            "genolens sequences --reference {input.reference} --vcf {input.vcf} --regions {input.regions}"
            " --sample-sheet {input.sheet} --id-column {params.id_column} {params.gaps} {params.distinct}"
            " --no-progress {params.extra}"
            " --out {output.fasta} --coords {output.coords} --report {output.report} > {log} 2>&1"

elif "fasta" in INPUTS:

    rule sequences:
        """The given FASTA, validated and normalised (upper case, IUPAC policy)."""
        input:
            fasta=INPUTS["fasta"],
        output:
            fasta=SEQUENCES,
        log:
            f"{LOGS}/sequences.log",
        threads: config["sequences"]["threads"]
        resources:
            mem_mb=config["sequences"]["mem_mb"],
            runtime=config["sequences"]["runtime"],
            gpu=0,
        params:
            extra=config["sequences"]["extra"],
        shell:
            "genolens sequences --fasta {input.fasta} --no-progress {params.extra} --out {output.fasta} > {log} 2>&1"

else:

    rule sequences:
        """Reference sequences over the regions, with their coordinate map."""
        input:
            reference=INPUTS["reference"],
            regions=INPUTS["regions"],
        output:
            fasta=SEQUENCES,
            coords=COORDS,
        log:
            f"{LOGS}/sequences.log",
        threads: config["sequences"]["threads"]
        resources:
            mem_mb=config["sequences"]["mem_mb"],
            runtime=config["sequences"]["runtime"],
            gpu=0,
        params:
            gaps=GAP_OPTIONS,
            extra=config["sequences"]["extra"],
        shell:
            "genolens sequences --reference {input.reference} --regions {input.regions} {params.gaps} --no-progress"
            " {params.extra} --out {output.fasta} --coords {output.coords} > {log} 2>&1"
