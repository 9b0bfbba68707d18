"""Stage 2: the [`Scorer`][mira_hf.scoring.scorer.Scorer] behind ``ds.map(mira_hf.score)``, its resume store,
sharded runs, the cost estimate, and the streaming driver that keeps the engine fed."""
