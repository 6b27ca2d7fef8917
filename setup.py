from setuptools import find_packages, setup

setup(
    name="tfllm",
    version="0.1.0",
    description="Train, evaluate and export language-model tasks with Keras 3 and TensorFlow.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["tfllm", "tfllm.*", "tasks"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "tensorflow-text>=2.21,<2.22",
        "tensorboard>=2.20",
        # tfllm/compat.py reaches into these; the tests ran on exactly these
        # minor versions (compat warns at import outside them).
        "keras>=3.15,<3.16",
        "keras-hub>=0.32,<0.33",
        "tensorflow-datasets>=4.9.9,<5",
        "absl-py>=2.1,<3",
        "sacrebleu>=2.4,<3",  # translation: BLEU and chrF as the field reports them
        "rouge-score>=0.1.2",  # keras-hub's ROUGE metrics need it
        "numpy>=1.26",
        "scipy>=1.10",  # word-vector evaluation: Spearman and Pearson correlation
    ],
    extras_require={
        # python -m tfllm.serve: KServe's model server (FastAPI + uvicorn).
        # It pins protobuf below 7, which TensorFlow 2.21 accepts (>=6.31.1).
        "serve": ["kserve>=0.21,<0.22"],
        # gensim: the tests check the word-vector figures against its own;
        # kserve: the tests query every task's export through the server;
        # pytest-xdist: most tests are bound by one core (imports, tracing,
        # tiny models) or wait on processes they start, so three workers on
        # 2 cores beat one a core (README).
        "test": ["pytest>=8", "pytest-xdist>=3", "gensim>=4.3", "kserve>=0.21,<0.22"],
    },
)
