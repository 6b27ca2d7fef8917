"""Decoding: greedy, top-k, top-p, beam and temperature over keras-hub samplers."""

from tfllm.decoding.generation import continuation_ids, prepare_prompts  # noqa: F401
from tfllm.decoding.samplers import SAMPLERS, RequestSampler, make_sampler  # noqa: F401
