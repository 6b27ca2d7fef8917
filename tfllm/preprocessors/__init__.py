"""Preprocessors: one per task family, used by the input pipeline and the serving graph alike."""

from tfllm.preprocessors.base import Preprocessor  # noqa: F401
from tfllm.preprocessors.classification import ClassificationPreprocessor  # noqa: F401
from tfllm.preprocessors.language_model import (  # noqa: F401
    LanguageModelPreprocessor, StreamedLanguageModelPreprocessor)
from tfllm.preprocessors.masked_lm import MaskedLMPreprocessor  # noqa: F401
from tfllm.preprocessors.span_qa import SpanQAPreprocessor  # noqa: F401
