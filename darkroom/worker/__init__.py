"""Workers: processes that claim jobs, run the image work, and record the outcome."""
