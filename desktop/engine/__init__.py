"""torch + diffusers: model loading, the ControlNet sampler, previews. No Qt."""
