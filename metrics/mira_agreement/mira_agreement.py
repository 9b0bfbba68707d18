"""`mira_agreement`: teacher–student agreement per (source × dimension) and the MIRA reliability mask.

A thin `evaluate.Metric` over `mira_hf.reliability`; the statistics, thresholds and mask live there.
"""

import datasets
import evaluate

from mira_hf import reliability

_CITATION = """\
@misc{mira2025,
  title  = {MIRA: source-aware, rubric-anchored data selection for heterogeneous mid-training corpora},
  note   = {Model card of whw06/MIRA-Agent-Group4},
  year   = {2025}
}
"""

_DESCRIPTION = """\
Agreement between a distilled MIRA student scorer (predictions) and its teacher (references) on a validation
split: per rubric dimension and per source, MAE, Spearman rho, Pearson r, the share of scores within one point
and the support; a reliability mask that keeps a (source, dimension) cell when MAE <= mae_max and
rho >= spearman_min with at least min_support rows; and accuracy / Cohen's kappa on training_recommendation.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: student scores, one list per record with one value per rubric slot (None/NaN where missing);
        with the "text" config, the student's raw outputs.
    references: teacher scores (or raw teacher outputs with the "text" config), paired row by row.
    sources (list of str, optional): source of each record; without it the mask has one key "*".
    rubric (str, optional): bundled rubric name or path to a *_dim_anchors.jsonl file. Default "agent-group4".
    mae_max (float, optional): largest reliable MAE, inclusive. Default 1.0.
    spearman_min (float, optional): smallest reliable Spearman rho, inclusive. Default 0.4.
    min_support (int, optional): fewest rows with both scores for a cell to be judged. Default 30.
    prediction_recommendations, reference_recommendations (lists of "keep"/"downsample"/"drop"/None, optional):
        enable recommendation_accuracy and recommendation_kappa (parsed from the texts with the "text" config).
    statuses (list of str, optional): the student's mira_status per record; adds parse_failures per cell
        (counted from the texts with the "text" config).
    bootstrap (int, optional): resamples for MAE and Spearman intervals per cell. Default 0 (none), e.g. 1000.
    confidence (float, optional): the intervals' level. Default 0.95.
    seed (int, optional): the bootstrap seed. Default 0.
    mask_by ("point" or "bound", optional): judge cells by the estimates or by the interval's pessimistic bound.
Returns:
    mae, spearman, pearson, within_1, support: per-dimension lists over all records;
    by_source: {source: the same lists and n_records}; mask: {source: [bool per dimension]};
    macro_mae, macro_spearman, macro_pearson, macro_within_1; dimensions, slots, sources, n_records,
    reliable_cells, total_cells, the thresholds used, rubric; recommendation_* when recommendations are given.
    With bootstrap: mae_low, mae_high, spearman_low, spearman_high and bootstrap, confidence, seed, mask_by;
    with statuses: parse_failures per dimension.
    Undefined values (a constant column, no support) are None, and such a cell is never reliable.
Examples:
    >>> metric = evaluate.load("mira_agreement")
    >>> teacher = [[8, 7, 9, 6, 5, 7, 8, 6, 7, 8, 9, 7, 6, 5, 8]] * 2 + [[3, 4, 2, 5, 4, 3, 2, 4, 3, 2, 3, 4, 5, 4, 3]]
    >>> student = [[7, 7, 9, 6, 5, 7, 8, 6, 7, 8, 9, 7, 6, 5, 8]] * 2
    >>> student += [[4, 4, 2, 5, 4, 3, 2, 4, 3, 2, 3, 4, 5, 4, None]]
    >>> result = metric.compute(predictions=student, references=teacher, sources=["swe_qa"] * 3, min_support=2)
    >>> result["mae"][0], result["support"][14], result["mask"]["swe_qa"][0]
    (1.0, 2, True)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class MiraAgreement(evaluate.Metric):
    """Teacher–student agreement and the reliability mask; configs "default" (scores) and "text" (raw outputs)."""

    def _info(self):
        value = datasets.Value("string") if self.config_name == "text" else datasets.Sequence(datasets.Value("float64"))
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": value, "references": value}),
            reference_urls=["https://huggingface.co/whw06/MIRA-Agent-Group4"],
        )

    def compute(self, *, predictions=None, references=None, **kwargs):
        """One-shot compute on one process skips evaluate's per-row Arrow round trip (seconds at 200K rows)."""
        if self.num_process == 1 and self.writer is None and predictions is not None and references is not None:
            return self._compute(predictions=predictions, references=references, **kwargs)
        return super().compute(predictions=predictions, references=references, **kwargs)

    def _compute(self, predictions, references, **kwargs):
        if self.config_name == "text":
            return reliability.agreement_from_texts(predictions, references, **kwargs)
        return reliability.agreement(predictions, references, **kwargs)
