"""What headquarters reads: marts, suppression of small counts, and the nightly exports."""
