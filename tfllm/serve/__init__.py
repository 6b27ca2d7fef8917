"""A local model server speaking TF Serving's REST API (`python -m tfllm.serve`).

`rest` turns TF Serving's request format into tensors and answers back,
`versions` keeps the newest version of an export loaded, and `server` runs
them under KServe's `ModelServer` (the `serve` extra).
"""
