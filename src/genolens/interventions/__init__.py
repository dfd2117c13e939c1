"""Interventions: what a variant, a feature or an edit of a layer does to the model.

- :mod:`~genolens.interventions.ablate`: zero SAE features in the forward pass (error term kept) and measure
  the change of the model's own loss;
- :mod:`~genolens.interventions.steer`: add a feature's decoder direction, or clamp it, and read the letters
  that move;
- :mod:`~genolens.interventions.variant_effects`: zero-shot variant scores (LLR, masked marginal, PLL), embedding
  distance and SAE feature changes at aligned bases;
- :mod:`~genolens.interventions.ism`: in-silico saturation mutagenesis of a region;
- :mod:`~genolens.interventions.variant_ranking`: the variants behind a biomarker feature.
"""
