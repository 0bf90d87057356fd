"""A trained multilingual named-entity recogniser (CRF) and what it needs.

``tokenize`` splits raw text into CoNLL-like tokens with character offsets,
``features`` turns a tokenised sentence into CRF attributes, ``recognizer``
runs the packaged model behind the ``Recognizer`` protocol of
``transforms.entities``, ``train`` rebuilds the model from ``../shared/ner``
(``newsbeam entities train``). Reading the corpora and scoring spans live in
``corpus`` and ``scoring``. See docs/entities.md, "Trained model".
"""
