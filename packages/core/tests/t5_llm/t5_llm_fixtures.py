"""Builders for the T5/LLM tests: tiny random T5 and causal LMs saved like hub models, and a scripted
OpenAI-compatible chat server on 127.0.0.1. Shared by packages/core/tests/t5_llm and integration_tests."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from core_support import WORDS as CORE_WORDS

WORDS = [*CORE_WORDS, "do", "at", "can", "not"]
PROMPT_WORDS = [
    "Query:",
    "Document:",
    "Document0:",
    "Document1:",
    "Relevant:",
    "true",
    "false",
    "yes",
    "no",
    "Yes",
    "No",
    "0",
    "1",
    "A:",
    "B:",
    "Is",
    "document",
    "relevant",
    "query?",
    "Answer",
    "yes",
    "or",
    "no.",
    "Answer:",
]


def _word_tokenizer(specials: list[str], *, t5: bool) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(dict.fromkeys([*specials, *PROMPT_WORDS, *WORDS]))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if t5:
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", vocab["</s>"])])
        return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", bos_token="<s>"
    )


def build_tiny_t5(directory: Path, *, seed: int = 0) -> Path:
    """A random 2-layer T5 with a word-level vocab holding "true"/"false", saved with `save_pretrained`."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _word_tokenizer(["<pad>", "</s>", "<unk>"], t5=True)
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        initializer_factor=1.0,
    )
    T5ForConditionalGeneration(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_tiny_causal_lm(directory: Path, *, seed: int = 0) -> Path:
    """A random 2-layer Llama with a word-level vocab holding "yes"/"no"/"Yes"/"1"/"0"."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _word_tokenizer(["<pad>", "</s>", "<unk>", "<s>"], t5=False)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        initializer_range=0.3,
        pad_token_id=0,
        bos_token_id=3,
        eos_token_id=1,
    )
    LlamaForCausalLM(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


# ---------------------------------------------------------------------- scripted chat server
Responder = Callable[[list[dict[str, str]]], str]
_PASSAGE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)


def window_passages(messages: list[dict[str, str]]) -> list[str]:
    """The passages of a listwise prompt, in identifier order (works for both prompt styles)."""
    found: dict[int, str] = {}
    for message in messages:
        if message["role"] == "user":
            for ident, text in _PASSAGE.findall(message["content"]):
                found.setdefault(int(ident), text)
    return [found[i] for i in sorted(found)]


def oracle_rank(messages: list[dict[str, str]]) -> str:
    """A perfect LLM: passages are "docNN ..." and higher NN is more relevant."""
    passages = window_passages(messages)
    relevance = [int(re.search(r"doc(\d+)", p).group(1)) for p in passages]  # type: ignore[union-attr]
    order = sorted(range(len(passages)), key=lambda i: -relevance[i])
    return " > ".join(f"[{i + 1}]" for i in order)


class ChatServer:
    """An OpenAI-compatible ``/v1/chat/completions`` endpoint answering with ``responder(messages)``.

    Records every request body, and the most requests it ever had in flight at once.
    """

    def __init__(self) -> None:
        self.responder: Responder = oracle_rank
        self.requests: list[dict[str, Any]] = []
        self.delay = 0.0
        self.fail_status: int | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append(body)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay)
                    if self.path != "/v1/chat/completions":
                        return self._send(404, {"error": {"message": f"no route {self.path}"}})
                    if server.fail_status is not None:
                        return self._send(server.fail_status, {"error": {"message": "scripted failure"}})
                    answer = server.responder(body["messages"])
                    self._send(200, _completion(body["model"], answer))
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def reset(self, responder: Responder = oracle_rank) -> None:
        self.responder = responder
        self.requests.clear()
        self.delay = 0.0
        self.fail_status = None
        self.max_in_flight = 0

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _completion(model: str, answer: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop", "logprobs": None}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@contextmanager
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer()
    try:
        yield server
    finally:
        server.close()
