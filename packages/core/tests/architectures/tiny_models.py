"""Tiny random sequence classifiers of every architecture rankwise's users name, built locally (no hub).

Each builder saves a 2-layer model and a word-level tokenizer with ``save_pretrained`` in well under a second.
Weights are drawn with a large ``initializer_range`` so that scores differ by content, not only by length.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from core_support import WORDS, check_word_level, tiny_vocab

QUERY = "what do cats eat"
DOCS = [
    "cats eat fish",
    "dogs bark at the car",
    "the river is blue and the sky is blue",
    "cats",
    "science study of protein in the cell and the gene",
    "a bird can fly over the sea and the city",
    "apple pear fruit tree",
    "the cat and the dog eat fish in the house by the river",
]
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
INIT = 0.5  # BERT's default 0.02 makes a random model score every pair about the same


def _bert_tokenizer() -> Any:
    """WordPiece over the shared word list; returns ``token_type_ids`` (BERT, ELECTRA, DeBERTa-v2, DistilBERT)."""
    from transformers import BertTokenizerFast

    tokenizer = BertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True, model_max_length=128)
    check_word_level(tokenizer)
    return tokenizer


def _word_tokenizer(specials: list[str], *, pair: str, single: str, **names: str) -> Any:
    """A word-level `tokenizers` tokenizer with ``specials`` first, no ``token_type_ids`` (RoBERTa-style)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(dict.fromkeys([*specials, *WORDS, *"abcdefghijklmnopqrstuvwxyz"]))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=names["unk_token"]))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    tok.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=[(s, vocab[s]) for s in specials if s in single + pair]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=128, model_input_names=["input_ids", "attention_mask"], **names
    )
    check_word_level(tokenizer)
    return tokenizer


def _roberta_tokenizer() -> Any:
    return _word_tokenizer(
        ["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
    )


def _decoder_tokenizer() -> Any:
    """For decoder classifiers (Qwen2, Gemma): the score is read at the last token, so pairs end with ``</s>``."""
    return _word_tokenizer(
        ["<pad>", "</s>", "<unk>", "<s>"],
        single="<s> $A </s>",
        pair="<s> $A </s> $B </s>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )


def _save(directory: Path, model: Any, tokenizer: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_bert(directory: Path) -> Path:
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = _bert_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer), max_position_embeddings=128, initializer_range=INIT, num_labels=1, **SMALL
    )
    return _save(directory, BertForSequenceClassification(config), tokenizer)


def build_roberta(directory: Path) -> Path:
    from transformers import RobertaConfig, RobertaForSequenceClassification

    tokenizer = _roberta_tokenizer()
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=130,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
        initializer_range=INIT,
        num_labels=1,
        **SMALL,
    )
    return _save(directory, RobertaForSequenceClassification(config), tokenizer)


def build_xlm_roberta(directory: Path) -> Path:
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    tokenizer = _roberta_tokenizer()
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=130,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
        initializer_range=INIT,
        num_labels=1,
        **SMALL,
    )
    return _save(directory, XLMRobertaForSequenceClassification(config), tokenizer)


def build_electra(directory: Path) -> Path:
    from transformers import ElectraConfig, ElectraForSequenceClassification

    tokenizer = _bert_tokenizer()
    config = ElectraConfig(
        vocab_size=len(tokenizer),
        embedding_size=32,
        max_position_embeddings=128,
        initializer_range=INIT,
        num_labels=1,
        **SMALL,
    )
    return _save(directory, ElectraForSequenceClassification(config), tokenizer)


def build_deberta_v2(directory: Path) -> Path:
    """DeBERTa-v2 as in the mxbai-rerank v1 family: no token type embeddings, yet the tokenizer returns them."""
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

    tokenizer = _bert_tokenizer()
    config = DebertaV2Config(
        vocab_size=len(tokenizer),
        max_position_embeddings=128,
        type_vocab_size=0,
        relative_attention=True,
        position_buckets=16,
        max_relative_positions=-1,
        pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
        initializer_range=INIT,
        num_labels=1,
        **SMALL,
    )
    return _save(directory, DebertaV2ForSequenceClassification(config), tokenizer)


def build_distilbert(directory: Path) -> Path:
    """DistilBERT (no token types) with a BERT tokenizer that returns ``token_type_ids``."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    tokenizer = _bert_tokenizer()
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=32,
        n_layers=2,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=128,
        initializer_range=INIT,
        seq_classif_dropout=0.0,
        num_labels=1,
    )
    return _save(directory, DistilBertForSequenceClassification(config), tokenizer)


def build_modernbert(directory: Path) -> Path:
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    tokenizer = _roberta_tokenizer()
    config = ModernBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        global_attn_every_n_layers=2,
        local_attention=16,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id,
        initializer_range=INIT,
        num_labels=1,
    )
    return _save(directory, ModernBertForSequenceClassification(config), tokenizer)


def _decoder_config(tokenizer: Any) -> dict[str, Any]:
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 128,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "initializer_range": INIT,
        "num_labels": 1,
    }


def build_qwen2(directory: Path) -> Path:
    """``Qwen2ForSequenceClassification``, as in the Qwen3-Reranker sequence-classification conversions."""
    from transformers import Qwen2Config, Qwen2ForSequenceClassification

    tokenizer = _decoder_tokenizer()
    return _save(directory, Qwen2ForSequenceClassification(Qwen2Config(**_decoder_config(tokenizer))), tokenizer)


def build_gemma(directory: Path) -> Path:
    """``GemmaForSequenceClassification``: the Gemma family's sequence classifier."""
    from transformers import GemmaConfig, GemmaForSequenceClassification

    tokenizer = _decoder_tokenizer()
    config = GemmaConfig(**_decoder_config(tokenizer), head_dim=8)
    return _save(directory, GemmaForSequenceClassification(config), tokenizer)


SEED = 0


def seeded(build: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """``build`` with torch's generator reset first, so every run builds the same weights."""

    def build_seeded(directory: Path) -> Path:
        import torch

        torch.manual_seed(SEED)
        return build(directory)

    return build_seeded


BUILDERS: dict[str, Callable[[Path], Path]] = {
    name: seeded(build)
    for name, build in {
        "bert": build_bert,
        "roberta": build_roberta,
        "xlm-roberta": build_xlm_roberta,
        "electra": build_electra,
        "deberta-v2": build_deberta_v2,
        "distilbert": build_distilbert,
        "modernbert": build_modernbert,
        "qwen2": build_qwen2,
        "gemma": build_gemma,
    }.items()
}

_SHAPE_DEPENDENT_CODE = '''
from transformers import BertConfig, BertForSequenceClassification


class ShapeDependentConfig(BertConfig):
    model_type = "shape-dependent-bert"


class ShapeDependentBert(BertForSequenceClassification):
    """A custom-code classifier whose Python control flow reads the batch size: the tracer freezes one branch."""

    config_class = ShapeDependentConfig

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
        out = super().forward(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, **kwargs)
        if int(input_ids.shape[0]) > 1:
            out.logits = out.logits + 1.0
        return out
'''


def build_untraceable(directory: Path) -> Path:
    """A ``trust_remote_code`` model that torch runs but whose ONNX export is wrong (a traced shape branch).

    This is how real custom-code rerankers fail to export: the export succeeds, the self-check catches it.
    """
    import json

    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = _bert_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer), max_position_embeddings=128, initializer_range=INIT, num_labels=1, **SMALL
    )
    _save(directory, BertForSequenceClassification(config), tokenizer)
    (directory / "modeling_shape_dependent.py").write_text(_SHAPE_DEPENDENT_CODE)
    saved = json.loads((directory / "config.json").read_text())
    saved["model_type"] = "shape-dependent-bert"
    saved["architectures"] = ["ShapeDependentBert"]
    saved["auto_map"] = {
        "AutoConfig": "modeling_shape_dependent.ShapeDependentConfig",
        "AutoModelForSequenceClassification": "modeling_shape_dependent.ShapeDependentBert",
    }
    (directory / "config.json").write_text(json.dumps(saved))
    return directory
