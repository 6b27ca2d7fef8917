"""Translation metrics as the field reports them: sacreBLEU, chrF, ROUGE-L.

BLEU and chrF come from the `sacrebleu` package on detokenized, cased text
(BLEU with its default 13a tokenization), each with its signature string, so
a score says exactly how it was computed. ROUGE-L is keras-hub's.

Example:

>>> scores = translation_scores(["A dog runs.", "The cat sat on the mat."],
...                             ["A dog is running.", "The cat sat on the mat."])
>>> round(scores["bleu"], 1), scores["bleu_signature"]
(72.8, 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0')
"""

import keras_hub
import sacrebleu


def translation_scores(hypotheses, references):
    """Corpus BLEU and chrF (sacreBLEU, with signatures) and ROUGE-L F1 of
    `hypotheses` against one reference each."""
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    bleu = sacrebleu.metrics.BLEU()
    chrf = sacrebleu.metrics.CHRF()
    bleu_score = bleu.corpus_score(hypotheses, [references])
    chrf_score = chrf.corpus_score(hypotheses, [references])
    rouge = keras_hub.metrics.RougeL()
    rouge.update_state(references, hypotheses)
    return {"bleu": bleu_score.score, "bleu_signature": str(bleu.get_signature()),
            "bleu_detail": str(bleu_score), "chrf": chrf_score.score,
            "chrf_signature": str(chrf.get_signature()),
            "rouge_l": float(rouge.result()["f1_score"]) * 100, "sentences": len(hypotheses)}
