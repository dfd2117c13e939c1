"""Provenance: what an artefact (SAE, probe, eraser) was made from, and the one check that an input matches it.

An SAE, a probe or an eraser reads the activations of one model (its weights), one layer and one tokenizer.
Each records them as a :class:`Provenance`; :func:`check_provenance` compares that record with what it is about to
be applied to and refuses a mismatch with one message that names every differing field, the model first.
"""

from __future__ import annotations

from dataclasses import dataclass

from genolens.errors import ConfigError


@dataclass(frozen=True)
class Provenance:
    """What an artefact (SAE, probe, eraser) was made from; applied elsewhere it is refused (:func:`check_provenance`).

    Parameters
    ----------
    model
        Model name of the store (``""``: unknown).
    model_hash
        Fingerprint of the model's weights.
    layer
        Layer trained on (``-1``: unknown).
    tokenizer
        Fingerprint of the tokeniser.
    store
        The store's folder (recorded, not compared).
    """

    model: str = ""
    model_hash: str = ""
    layer: int = -1
    tokenizer: str = ""
    store: str = ""

    @classmethod
    def of_store(cls, store: object, *, layer: int) -> Provenance:
        """The provenance of ``layer`` of an activation store.

        Parameters
        ----------
        store
            An opened :class:`genolens.store.reader.ActivationStore`.
        layer
            The layer.

        Returns
        -------
        Provenance
            Model, weights hash, layer, tokeniser and store path.
        """
        cfg = store.config  # type: ignore[attr-defined]
        return cls(model=cfg.model, model_hash=getattr(cfg, "model_hash", "") or "", layer=layer,
                   tokenizer=getattr(cfg, "tokenizer", "") or "", store=str(store.path))  # type: ignore[attr-defined]

    def mismatch(self, other: Provenance, *, owner: str = "SAE") -> list[str]:
        """Names of the fields that differ, ignoring fields unknown ('' or -1) on either side.

        Parameters
        ----------
        other
            What the artefact is about to be applied to.
        owner
            What holds this provenance (an SAE, a probe, an eraser), for the messages.

        Returns
        -------
        list of str
            One line per differing field with both values (``store`` is not compared).
        """
        out = []
        for f in ("model", "model_hash", "layer", "tokenizer"):
            a, b = getattr(self, f), getattr(other, f)
            if a not in ("", -1) and b not in ("", -1) and a != b:
                out.append(f"{f}: {owner} has {a!r}, input has {b!r}")
        return out


def check_provenance(own: Provenance, other: Provenance, *, owner: str, name: str, what: str = "input") -> None:
    """Raise :class:`~genolens.errors.ConfigError` if ``other`` comes from another model, weights, layer or tokenizer.

    Fields unknown on either side (``""`` or ``-1``) are not compared.

    Parameters
    ----------
    own
        What the artefact was made from.
    other
        What it is about to be applied to.
    owner
        The kind of artefact (``SAE``, ``probe``, ``eraser``).
    name
        Its name (the SAE's name, the probe's target, the eraser's concept).
    what
        How the message names the input (e.g. ``"store results/store"``, ``"model hyenadna-tiny"``).
    """
    problems = own.mismatch(other, owner=owner)
    if problems:
        raise ConfigError(
            f"{owner} {name!r} does not match the {what}: " + "; ".join(problems),
            hint=f"a {owner} only reads the activations of the model, layer and tokenizer it was made from",
        )
