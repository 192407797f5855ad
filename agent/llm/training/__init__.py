"""Training the planner adapter: the corpus, LoRA fine-tuning and shrinking (not runtime)."""
