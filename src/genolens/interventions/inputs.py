"""What an intervention runs on: the model with its head and a checked SAE, and the input sequences."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from genolens.errors import ConfigError

if TYPE_CHECKING:
    from genolens.adapters.base import Adapter
    from genolens.adapters.heads import LMHead
    from genolens.io.records import SequenceRecord
    from genolens.sae.base import SparseAutoencoder

PathLike = str | os.PathLike[str]


def load_model_and_sae(model: str, sae: PathLike, *, device: str) -> tuple[Adapter, LMHead, SparseAutoencoder]:
    """Load the model, its language-model head and the SAE; an SAE of another model, tokenizer or weights is refused.

    Parameters
    ----------
    model
        Model short name, hub id or folder.
    sae
        SAE folder trained on this model.
    device
        Where both run.

    Returns
    -------
    tuple
        The adapter, its head and the SAE.
    """
    from genolens.adapters.heads import language_model_head
    from genolens.adapters.registry import load_adapter
    from genolens.provenance import Provenance
    from genolens.sae.checkpoint import check_compatible, load_sae
    from genolens.store.embed import model_provenance

    sae_model = load_sae(sae, device=device)
    check_compatible(sae_model, Provenance(model=model), what=f"model {model}")
    adapter = load_adapter(model, device=device)
    check_compatible(sae_model, model_provenance(adapter, model=model), what=f"model {model}")
    return adapter, language_model_head(adapter), sae_model


def input_records(adapter: Adapter, *, fasta: PathLike | None, store: PathLike | None, sequences: Sequence[str],
                  max_sequences: int | None) -> list[SequenceRecord]:
    """The records of a FASTA or of a store (its own bases; the store must be of this model).

    Parameters
    ----------
    adapter
        The model (its alphabet reads the FASTA; its name must be the store's model).
    fasta, store
        Exactly one of them.
    sequences
        Only these sequence IDs (every one must be in the input); empty: all.
    max_sequences
        At most this many (the first ones).

    Returns
    -------
    list of SequenceRecord
        The sequences, in input order.
    """
    from genolens.io.fasta import read_fasta
    from genolens.io.records import SequenceRecord

    if (fasta is None) == (store is None):
        raise ConfigError("read exactly one input: a FASTA (--input) or an activation store (--store)")
    if fasta is not None:
        records = list(read_fasta(fasta, alphabet=adapter.alphabet))
    else:
        from genolens.store import ActivationStore

        opened = ActivationStore(store)
        if opened.config.model not in (adapter.name, ""):
            raise ConfigError(f"the store was embedded with {opened.config.model}, not {adapter.name}", path=store)
        bases = opened.bases_by_id()
        if bases is None:
            raise ConfigError("the store keeps no bases (format older than 0.3.0)", path=store,
                              hint="pass the FASTA it was embedded from (--input)")
        records = [SequenceRecord(i, s, adapter.alphabet) for i, s in bases.items()]
    if sequences:
        known = {r.id for r in records}
        missing = [s for s in sequences if s not in known]
        if missing:
            raise ConfigError(f"sequence(s) {', '.join(missing[:5])} are not in the input")
        wanted = set(sequences)
        records = [r for r in records if r.id in wanted]
    if max_sequences is not None:
        records = records[:max_sequences]
    return records
