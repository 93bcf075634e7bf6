"""One module per report kind: each turns a parsed result file into sections, numbers and limitations."""
