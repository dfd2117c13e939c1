"""Configurations of SAEs and of their training, as frozen, validated dataclasses.

:class:`SAEConfig` holds what every architecture shares; each architecture's config extends it with the
settings only that architecture has, so an option that does not apply cannot be set (:data:`CONFIGS`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from genolens.errors import ConfigError
from genolens.provenance import Provenance


@dataclass(frozen=True, kw_only=True)
class SAEConfig:
    """What every SAE architecture shares: size, initialisation, dead-latent window, name and provenance.

    Each architecture extends it beside its module with the settings only it has (``TopKConfig`` in
    :mod:`genolens.sae.topk`, ``ReLUConfig`` in :mod:`genolens.sae.relu`, ...), so an option that does not
    apply to an architecture cannot be set on it; :func:`genolens.sae.registry.make_config` builds the
    right one from an architecture name and refuses options it does not take.

    Parameters
    ----------
    architecture
        The architecture's name (each subclass sets its own).
    d_in
        Width of the activations.
    d_sae
        Number of latents (dictionary size).
    dead_after_tokens
        A latent that has not fired for this many tokens counts as dead.
    b_dec_init
        Decoder bias initialisation: ``"geometric_median"``, ``"mean"`` or ``"zeros"`` of a data sample.
    seed
        Seed of the weight initialisation.
    name
        Name of the SAE (default ``{architecture}_w{d_sae}{tag}_s{seed}``, the tag from :meth:`name_tag`).
    provenance
        What it was trained on.
    """

    architecture: str = ""
    d_in: int
    d_sae: int
    dead_after_tokens: int = 1_000_000
    b_dec_init: str = "geometric_median"
    seed: int = 0
    name: str = ""
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        if type(self) is SAEConfig:
            raise ConfigError("SAEConfig holds the shared settings only; build an architecture's config with "
                              "genolens.sae.make_config(architecture, ...)")
        for name in ("d_in", "d_sae", "dead_after_tokens"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.b_dec_init not in ("geometric_median", "mean", "zeros"):
            raise ConfigError(f"b_dec_init must be geometric_median, mean or zeros, got {self.b_dec_init!r}")
        if isinstance(self.provenance, dict):
            object.__setattr__(self, "provenance", Provenance(**self.provenance))
        if not self.name:
            object.__setattr__(self, "name", f"{self.architecture}_w{self.d_sae}{self.name_tag()}_s{self.seed}")

    def name_tag(self) -> str:
        """What sets this SAE apart in its default name, between width and seed (``_k32`` for TopK).

        Returns
        -------
        str
            The tag (``""`` where nothing does).
        """
        return ""

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (saved in ``cfg.json``).

        Returns
        -------
        dict
            One entry per field, ``provenance`` as a dict.
        """
        return asdict(self)


# -- one config per architecture, with the settings only it has ------------------------------------------
# (each SAE class names its own as ``config_class``; genolens.sae.registry checks the two lists agree)

@dataclass(frozen=True, kw_only=True)
class TopKConfig(SAEConfig):
    """TopK: ``k`` active latents per token; the auxiliary loss revives dead latents with the top ``aux_k``
    of their pre-activations (0: half of ``d_in``, at most ``d_sae``), weighted by ``aux_coeff``."""

    architecture: str = "topk"
    k: int = 32
    aux_k: int = 0
    aux_coeff: float = 1 / 32

    def __post_init__(self) -> None:
        if self.k <= 0:
            raise ConfigError(f"k must be > 0, got {self.k}")
        if self.k > self.d_sae:
            raise ConfigError(f"k ({self.k}) must be <= d_sae ({self.d_sae})")
        if self.aux_k < 0:
            raise ConfigError(f"aux_k must be >= 0, got {self.aux_k}")
        if self.aux_coeff < 0:
            raise ConfigError(f"aux_coeff must be >= 0, got {self.aux_coeff}")
        if self.aux_k == 0:
            object.__setattr__(self, "aux_k", max(1, min(self.d_sae, self.d_in // 2)))
        super().__post_init__()

    def name_tag(self) -> str:
        return f"_k{self.k}"

@dataclass(frozen=True, kw_only=True)
class BatchTopKConfig(TopKConfig):
    """BatchTopK: ``k`` active latents per token on average over a batch; the inference threshold is a
    moving average (``threshold_momentum``) of the smallest activation each batch keeps."""

    architecture: str = "batchtopk"
    threshold_momentum: float = 0.99

    def __post_init__(self) -> None:
        if not 0 <= self.threshold_momentum < 1:
            raise ConfigError(f"threshold_momentum must be in [0, 1), got {self.threshold_momentum}")
        super().__post_init__()

@dataclass(frozen=True, kw_only=True)
class MatryoshkaConfig(BatchTopKConfig):
    """Matryoshka BatchTopK: the nested dictionary sizes ``prefixes`` (strictly increasing, the last equal
    to ``d_sae``; default 1/16, 1/4 and all of it)."""

    architecture: str = "matryoshka"
    prefixes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        p = tuple(self.prefixes) or tuple(sorted({max(1, self.d_sae // 16), max(1, self.d_sae // 4), self.d_sae}))
        if list(p) != sorted(set(p)) or p[-1] != self.d_sae or p[0] <= 0:
            raise ConfigError(f"prefixes must increase strictly and end at d_sae={self.d_sae}, got {p}")
        object.__setattr__(self, "prefixes", p)
        super().__post_init__()

@dataclass(frozen=True, kw_only=True)
class ReLUConfig(SAEConfig):
    """ReLU: sparsity from the decoder-norm-weighted L1 penalty ``l1_coeff``, ramped up over the first
    ``l1_warmup_fraction`` of training."""

    architecture: str = "relu"
    l1_coeff: float = 5.0
    l1_warmup_fraction: float = 0.05

    def __post_init__(self) -> None:
        if self.l1_coeff < 0:
            raise ConfigError(f"l1_coeff must be >= 0, got {self.l1_coeff}")
        if not 0 <= self.l1_warmup_fraction <= 1:
            raise ConfigError(f"l1_warmup_fraction must be in [0, 1], got {self.l1_warmup_fraction}")
        super().__post_init__()

    def name_tag(self) -> str:
        return f"_l1-{self.l1_coeff:g}"

@dataclass(frozen=True, kw_only=True)
class JumpReLUConfig(SAEConfig):
    """JumpReLU: ``k`` is the target L0, pulled towards by ``l0_coeff``; thresholds learn through a
    straight-through rectangle of width ``jumprelu_bandwidth`` at ``threshold_lr_scale`` times the rate."""

    architecture: str = "jumprelu"
    k: int = 32
    l0_coeff: float = 1.0
    jumprelu_bandwidth: float = 0.05
    threshold_lr_scale: float = 10.0

    def __post_init__(self) -> None:
        if self.k <= 0:
            raise ConfigError(f"k must be > 0, got {self.k}")
        if self.k > self.d_sae:
            raise ConfigError(f"k ({self.k}) must be <= d_sae ({self.d_sae})")
        if self.l0_coeff < 0:
            raise ConfigError(f"l0_coeff must be >= 0, got {self.l0_coeff}")
        if self.jumprelu_bandwidth <= 0:
            raise ConfigError(f"jumprelu_bandwidth must be > 0, got {self.jumprelu_bandwidth}")
        if self.threshold_lr_scale <= 0:
            raise ConfigError(f"threshold_lr_scale must be > 0, got {self.threshold_lr_scale}")
        super().__post_init__()

    def name_tag(self) -> str:
        return f"_k{self.k}"



CONFIGS: dict[str, type[SAEConfig]] = {
    cls.architecture: cls for cls in (TopKConfig, BatchTopKConfig, MatryoshkaConfig, ReLUConfig, JumpReLUConfig)
}
"""Architecture name -> its config class: the one list of architectures and their settings (torch-free, so
the command line's choices and help are built from it without loading torch)."""


ARCHITECTURES: tuple[str, ...] = tuple(CONFIGS)
"""The architecture names, in order (the one list configs, checkpoints, the CLI and its help read)."""


def config_class(architecture: str) -> type[SAEConfig]:
    """The config class of ``architecture``.

    Parameters
    ----------
    architecture
        An architecture name (:data:`ARCHITECTURES`).

    Returns
    -------
    type
        Its :class:`SAEConfig` subclass.
    """
    try:
        return CONFIGS[architecture]
    except KeyError:
        raise ConfigError(f"unknown SAE architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}") from None


def options(architecture: str) -> tuple[str, ...]:
    """The settings an architecture takes besides ``d_in``, ``d_sae`` and the shared ones (for help and checks).

    Parameters
    ----------
    architecture
        An architecture name.

    Returns
    -------
    tuple of str
        Field names of its config that the base :class:`SAEConfig` lacks.
    """
    shared = {f.name for f in fields(SAEConfig)}
    return tuple(f.name for f in fields(config_class(architecture)) if f.name not in shared)


def make_config(architecture: str, **settings: Any) -> SAEConfig:
    """The config of ``architecture`` from its settings; a setting it does not take is an error.

    Parameters
    ----------
    architecture
        An architecture name (:data:`ARCHITECTURES`).
    **settings
        ``d_in``, ``d_sae`` and any of the shared or architecture's own settings (``k``, ``l1_coeff``, ...).

    Returns
    -------
    SAEConfig
        An instance of the architecture's config class.
    """
    cls = config_class(architecture)
    known = {f.name for f in fields(cls)} - {"architecture"}
    unknown = sorted(set(settings) - known)
    if unknown:
        verb = "does" if len(unknown) == 1 else "do"
        raise ConfigError(f"{', '.join(unknown)} {verb} not apply to {architecture} SAEs",
                          hint=f"{architecture} takes: {', '.join(options(architecture)) or 'no extra settings'}")
    return cls(**settings)


def config_from_dict(data: dict[str, Any]) -> SAEConfig:
    """Read a config saved by :meth:`SAEConfig.to_dict` (also the flat configs of genolens before 0.5).

    Checkpoints written before the per-architecture configs hold every architecture's settings; those
    of other architectures are dropped here. A key no architecture knows is an error.

    Parameters
    ----------
    data
        The ``config`` section of a checkpoint's ``cfg.json``.

    Returns
    -------
    SAEConfig
        The architecture's config.
    """
    data = dict(data)
    architecture = str(data.pop("architecture", ""))
    cls = config_class(architecture)
    every = {f.name for c in CONFIGS.values() for f in fields(c)}
    unknown = sorted(set(data) - every)
    if unknown:
        raise ConfigError(f"unknown SAE config keys: {unknown}")
    own = {f.name for f in fields(cls)}
    data = {key: value for key, value in data.items() if key in own}
    if "prefixes" in data:
        data["prefixes"] = tuple(data["prefixes"])
    return cls(**data)


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
        """Linear warm-up, constant, then linear decay to zero over the last ``decay_fraction``.

        Parameters
        ----------
        step
            Optimiser step, from 0.

        Returns
        -------
        float
            The learning rate at that step.
        """
        total = self.total_steps
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        decay_start = int(total * (1 - self.decay_fraction))
        if step >= decay_start and total > decay_start:
            return self.lr * max(0.0, (total - step) / (total - decay_start))
        return self.lr
