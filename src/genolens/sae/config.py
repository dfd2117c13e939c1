"""Configurations of SAEs and of their training, as frozen, validated dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from genolens.errors import ConfigError

ARCHITECTURES = ("topk", "batchtopk", "matryoshka", "relu", "jumprelu")


@dataclass(frozen=True)
class Provenance:
    """What the SAE was trained on; applying it elsewhere is an error (see :func:`check_compatible`).

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

    def mismatch(self, other: Provenance) -> list[str]:
        """Names of the fields that differ, ignoring fields unknown ('' or -1) on either side.

        Parameters
        ----------
        other
            What the SAE is about to be applied to.

        Returns
        -------
        list of str
            One line per differing field with both values (``store`` is not compared).
        """
        out = []
        for f in ("model", "model_hash", "layer", "tokenizer"):
            a, b = getattr(self, f), getattr(other, f)
            if a not in ("", -1) and b not in ("", -1) and a != b:
                out.append(f"{f}: SAE has {a!r}, input has {b!r}")
        return out


@dataclass(frozen=True)
class SAEConfig:
    """One SAE: architecture, size, sparsity and loss settings.

    ``k`` is the number of active latents per token (TopK), the mean per token
    (BatchTopK, Matryoshka) or the target L0 (JumpReLU). ``l1_coeff`` weights
    the decoder-norm-weighted L1 penalty (ReLU). ``prefixes`` are the nested
    dictionary sizes of a Matryoshka SAE (the last must equal ``d_sae``).

    Parameters
    ----------
    architecture
        One of :data:`ARCHITECTURES`.
    d_in
        Width of the activations.
    d_sae
        Number of latents (dictionary size).
    k
        Active latents per token (TopK), their mean (BatchTopK, Matryoshka) or the target L0 (JumpReLU).
    l1_coeff
        L1 penalty weight (ReLU).
    l1_warmup_fraction
        Fraction of training over which the L1 penalty ramps up linearly (ReLU).
    l0_coeff
        Weight of the penalty pulling the mean L0 towards ``k`` (JumpReLU).
    jumprelu_bandwidth
        Width of the rectangle kernel of the threshold's straight-through gradient (JumpReLU).
    threshold_lr_scale
        Learning-rate multiplier of the thresholds (JumpReLU).
    prefixes
        Nested dictionary sizes, increasing, ending at ``d_sae`` (Matryoshka; default ``d_sae`` / 16, / 4, 1).
    aux_k
        Dead latents used by the auxiliary loss (``0``: ``d_in // 2``, at most ``d_sae``).
    aux_coeff
        Weight of the auxiliary loss that trains dead latents on the residual.
    dead_after_tokens
        A latent that has not fired for this many tokens counts as dead.
    threshold_momentum
        Momentum of the running inference threshold (BatchTopK).
    b_dec_init
        Decoder bias initialisation: ``"geometric_median"``, ``"mean"`` or ``"zeros"`` of a data sample.
    seed
        Seed of the weight initialisation.
    name
        Name of the SAE (default ``{architecture}_w{d_sae}_k{k}_s{seed}``).
    provenance
        What it was trained on.
    """

    architecture: str
    d_in: int
    d_sae: int
    k: int = 32
    l1_coeff: float = 5.0
    l1_warmup_fraction: float = 0.05
    l0_coeff: float = 1.0
    jumprelu_bandwidth: float = 0.05
    threshold_lr_scale: float = 10.0
    prefixes: tuple[int, ...] = ()
    aux_k: int = 0
    aux_coeff: float = 1 / 32
    dead_after_tokens: int = 1_000_000
    threshold_momentum: float = 0.99
    b_dec_init: str = "geometric_median"
    seed: int = 0
    name: str = ""
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}")
        for name in ("d_in", "d_sae", "k", "dead_after_tokens"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.k > self.d_sae:
            raise ConfigError(f"k ({self.k}) must be <= d_sae ({self.d_sae})")
        if self.l1_coeff < 0 or self.l0_coeff < 0 or self.aux_coeff < 0:
            raise ConfigError("penalty coefficients must be >= 0")
        if self.jumprelu_bandwidth <= 0:
            raise ConfigError(f"jumprelu_bandwidth must be > 0, got {self.jumprelu_bandwidth}")
        if not 0 <= self.threshold_momentum < 1:
            raise ConfigError(f"threshold_momentum must be in [0, 1), got {self.threshold_momentum}")
        if self.b_dec_init not in ("geometric_median", "mean", "zeros"):
            raise ConfigError(f"b_dec_init must be geometric_median, mean or zeros, got {self.b_dec_init!r}")
        if self.architecture == "matryoshka":
            p = self.prefixes or _default_prefixes(self.d_sae)
            if list(p) != sorted(set(p)) or p[-1] != self.d_sae or p[0] <= 0:
                raise ConfigError(f"prefixes must increase strictly and end at d_sae={self.d_sae}, got {p}")
            object.__setattr__(self, "prefixes", tuple(p))
        if self.aux_k < 0:
            raise ConfigError(f"aux_k must be >= 0, got {self.aux_k}")
        if self.aux_k == 0:
            object.__setattr__(self, "aux_k", max(1, min(self.d_sae, self.d_in // 2)))
        if isinstance(self.provenance, dict):
            object.__setattr__(self, "provenance", Provenance(**self.provenance))
        if not self.name:
            object.__setattr__(self, "name", f"{self.architecture}_w{self.d_sae}_k{self.k}_s{self.seed}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SAEConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown SAE config keys: {sorted(unknown)}")
        data = dict(data)
        if "prefixes" in data:
            data["prefixes"] = tuple(data["prefixes"])
        if isinstance(data.get("provenance"), dict):
            data["provenance"] = Provenance(**data["provenance"])
        return cls(**data)


def _default_prefixes(d_sae: int) -> tuple[int, ...]:
    sizes = sorted({max(1, d_sae // 16), max(1, d_sae // 4), d_sae})
    return tuple(sizes)


@dataclass(frozen=True)
class TrainConfig:
    """The training loop: how many tokens, batch size, learning-rate schedule, checkpoints.

    Parameters
    ----------
    total_tokens
        Training tokens (activation rows) in all.
    batch_size
        Rows per step.
    lr
        Peak learning rate.
    warmup_steps
        Steps of linear warm-up.
    decay_fraction
        Final fraction of the steps over which the learning rate decays linearly to zero.
    init_tokens
        Rows sampled to initialise the decoder bias and to calibrate thresholds.
    checkpoint_every
        Steps between checkpoints (a killed run resumes from the last).
    log_every
        Steps between lines of ``metrics.jsonl``.
    seed
        Seed of torch's global generator, set when training starts (the data order has its own seed).
    device
        ``"cpu"`` or ``"cuda"``.
    """

    total_tokens: int
    batch_size: int = 4096
    lr: float = 4e-4
    warmup_steps: int = 100
    decay_fraction: float = 0.2
    init_tokens: int = 65_536
    checkpoint_every: int = 500
    log_every: int = 10
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("total_tokens", "batch_size", "init_tokens", "checkpoint_every", "log_every"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        if not 0 <= self.decay_fraction <= 1:
            raise ConfigError(f"decay_fraction must be in [0, 1], got {self.decay_fraction}")

    @property
    def total_steps(self) -> int:
        return -(-self.total_tokens // self.batch_size)

    def lr_at(self, step: int) -> float:
        """Linear warm-up, constant, then linear decay to zero over the last ``decay_fraction``."""
        total = self.total_steps
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        decay_start = int(total * (1 - self.decay_fraction))
        if step >= decay_start and total > decay_start:
            return self.lr * max(0.0, (total - step) / (total - decay_start))
        return self.lr
