"""Publishing dataset and tokenizer folders to the Hugging Face Hub."""
