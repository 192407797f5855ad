"""Understanding the person: instruction -> validated plan or a question (prompts, repair)."""
