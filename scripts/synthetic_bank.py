"""A deterministic synthetic Q&A bank for scale benchmarks (never shipped as content).

    python scripts/synthetic_bank.py 10000 -o /tmp/bank-10k.md [--seed 0] [--queries q.yml]

Writes N items in the bank format of qakb.parse: a title, source lines, one `##` section
per topic (about 1,000 items each, at least 4 sections), questions built from templates over
a vocabulary of technical concepts, and answers of 20 to 400 words mixing paragraphs,
emphasis, numbered and bulleted lists, fenced code, inline and display math, links and the
odd table. The same N and seed always give the same bytes, so build and browser figures
can be compared across machines and commits. `--queries` also writes a YAML list of
natural-language queries (paraphrases drawn from the same vocabulary) for latency and
recall-against-exhaustive measurements.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

DOMAINS = {
    "Machine learning": [
        "gradient descent", "learning rate", "regularisation", "dropout", "batch normalisation",
        "cross-validation", "overfitting", "underfitting", "bias-variance trade-off", "feature scaling",
        "one-hot encoding", "decision tree", "random forest", "gradient boosting", "support vector machine",
        "k-nearest neighbours", "logistic regression", "linear regression", "naive Bayes", "k-means clustering",
        "principal component analysis", "t-SNE", "word embedding", "attention mechanism", "transformer encoder",
        "convolutional layer", "max pooling", "recurrent network", "LSTM cell", "vanishing gradient",
        "exploding gradient", "softmax function", "ReLU activation", "weight initialisation", "early stopping",
        "confusion matrix", "precision and recall", "ROC curve", "F1 score", "class imbalance",
    ],
    "Databases": [
        "B-tree index", "hash index", "query planner", "join algorithm", "transaction isolation",
        "write-ahead log", "MVCC", "two-phase commit", "primary key", "foreign key constraint",
        "normal form", "denormalisation", "materialised view", "stored procedure", "deadlock detection",
        "row-level locking", "sharding key", "read replica", "connection pool", "vacuum process",
        "column store", "bloom filter", "LSM tree", "compaction", "secondary index",
        "query cache", "prepared statement", "isolation anomaly", "phantom read", "snapshot isolation",
    ],
    "Distributed systems": [
        "consensus protocol", "Raft leader election", "Paxos", "vector clock", "eventual consistency",
        "CAP theorem", "quorum read", "gossip protocol", "consistent hashing", "leader lease",
        "idempotent request", "exactly-once delivery", "message queue", "backpressure", "circuit breaker",
        "rate limiter", "service discovery", "load balancer", "health check", "retry with jitter",
        "distributed lock", "clock skew", "split brain", "partition tolerance", "replication lag",
        "event sourcing", "saga pattern", "outbox pattern", "heartbeat", "failure detector",
    ],
    "Operating systems": [
        "virtual memory", "page fault", "translation lookaside buffer", "context switch", "process scheduler",
        "thread pool", "mutex", "semaphore", "spinlock", "condition variable",
        "memory-mapped file", "copy-on-write", "system call", "interrupt handler", "file descriptor",
        "inode", "journaling file system", "page cache", "swap space", "kernel module",
        "user space", "priority inversion", "race condition", "atomic operation", "memory barrier",
    ],
    "Networking": [
        "TCP handshake", "congestion control", "slow start", "UDP datagram", "DNS resolution",
        "TLS handshake", "certificate chain", "HTTP keep-alive", "HTTP/2 multiplexing", "QUIC",
        "NAT traversal", "subnet mask", "BGP route", "ARP table", "MTU discovery",
        "head-of-line blocking", "Nagle's algorithm", "socket buffer", "anycast", "CDN edge cache",
    ],
    "Statistics": [
        "p-value", "confidence interval", "null hypothesis", "type I error", "statistical power",
        "central limit theorem", "law of large numbers", "Bayes' theorem", "prior distribution", "posterior",
        "maximum likelihood", "bootstrap", "A/B test", "multiple comparisons", "effect size",
        "variance", "standard error", "correlation", "covariance", "chi-squared test",
        "t-test", "Poisson distribution", "binomial distribution", "heavy tail", "survivorship bias",
    ],
    "Software design": [
        "dependency injection", "single responsibility", "interface segregation", "composition over inheritance",
        "factory method", "observer pattern", "strategy pattern", "adapter pattern", "immutability",
        "pure function", "unit test", "integration test", "test double", "code review",
        "technical debt", "semantic versioning", "feature flag", "continuous integration", "blue-green deployment",
        "canary release", "refactoring", "cyclomatic complexity", "domain model", "bounded context",
    ],
}

QUESTION_TEMPLATES = [
    "What is {a}?",
    "How does {a} work?",
    "Why does {a} matter in {d}?",
    "What is the difference between {a} and {b}?",
    "When would you choose {a} over {b}?",
    "How would you explain {a} to a junior engineer?",
    "What are the main drawbacks of {a}?",
    "How do {a} and {b} interact?",
    "What goes wrong when {a} is misconfigured?",
    "How would you measure the effect of {a}?",
    "Which problems does {a} solve that {b} does not?",
    "How is {a} implemented in practice?",
    "What are common interview mistakes about {a}?",
    "How does {a} relate to {b} in {d}?",
    "Give an example where {a} fails.",
]

SENTENCES = [
    "{A} is best understood by asking what problem it was designed to solve.",
    "In practice {a} trades some simplicity for predictable behaviour under load.",
    "A common mistake is to treat {a} and {b} as interchangeable, which they are not.",
    "The key idea behind {a} is to bound the worst case instead of optimising the average.",
    "When {b} is already in place, {a} adds little and costs extra complexity.",
    "Interviewers usually want a concrete example of {a} rather than a textbook definition.",
    "Measuring {a} directly is hard, so teams watch a proxy such as latency or error rate.",
    "{A} becomes important once the system grows beyond a single machine or dataset.",
    "The cost of {a} shows up mostly in memory, while {b} mostly costs time.",
    "You can think of {a} as a contract: it promises one property and gives up another.",
    "Most textbooks introduce {a} together with {b}, but the two solve different problems.",
    "Tuning {a} well depends on the workload, so start from the defaults and measure.",
    "A failure of {a} is often silent, which is why monitoring matters.",
    "{A} interacts with {b} in subtle ways when both are enabled at once.",
    "The simplest correct answer mentions what {a} guarantees and what it does not.",
    "Historically {a} was introduced to fix a weakness of earlier approaches.",
    "In {d} interviews, {a} is a classic follow-up question after {b}.",
    "A good rule of thumb is to prefer {a} when reads dominate and {b} when writes do.",
]

CODE_SNIPPETS = [
    ("python", "def step(state, rate=0.01):\n    grad = compute_gradient(state)\n    return state - rate * grad\n"),
    ("sql", "SELECT user_id, COUNT(*) AS orders\nFROM orders\nWHERE created_at > NOW() - INTERVAL '7 days'\nGROUP BY user_id;\n"),
    ("bash", "for i in $(seq 1 5); do\n  curl -s -o /dev/null -w '%{http_code}\\n' http://localhost:8080/health\ndone\n"),
    ("python", "from collections import deque\n\nclass Window:\n    def __init__(self, size):\n        self.items = deque(maxlen=size)\n"),
    ("go", "func retry(n int, f func() error) error {\n\tvar err error\n\tfor i := 0; i < n; i++ {\n\t\tif err = f(); err == nil {\n\t\t\treturn nil\n\t\t}\n\t}\n\treturn err\n}\n"),
]

MATH = [
    "$$\n\\hat\\theta = \\arg\\min_\\theta \\sum_i \\ell(y_i, f_\\theta(x_i))\n$$",
    "$$\nP(A \\mid B) = \\frac{P(B \\mid A)\\,P(A)}{P(B)}\n$$",
    "$$\n\\sigma(z) = \\frac{1}{1 + e^{-z}}\n$$",
]
INLINE_MATH = ["$O(n \\log n)$", "$\\alpha = 0.05$", "$\\lambda \\lVert w \\rVert^2$", "$p < 0.01$"]
DIFFICULTIES = ["", " 👶", " ⭐️", " 🚀", " [medium]"]


def section_count(items: int) -> int:
    """About 1,000 items a section, at least 4."""
    return max(4, round(items / 1000))


def concept_pool(rng: random.Random) -> list[tuple[str, str]]:
    pool = [(domain, concept) for domain, concepts in DOMAINS.items() for concept in concepts]
    rng.shuffle(pool)
    return pool


def question(rng: random.Random, pool, used: set[str]) -> tuple[str, str, str, str]:
    """A question never used before, with its two concepts and domain."""
    while True:
        domain, a = rng.choice(pool)
        _, b = rng.choice(pool)
        if a == b:
            continue
        text = rng.choice(QUESTION_TEMPLATES).format(a=a, b=b, d=domain.lower())
        if text not in used:
            used.add(text)
            return text, a, b, domain


def sentence(rng: random.Random, a: str, b: str, domain: str, template: str | None = None) -> str:
    text = template or rng.choice(SENTENCES)
    return text.format(a=a, b=b, d=domain.lower(), A=a[:1].upper() + a[1:])


def paragraph(rng: random.Random, a: str, b: str, domain: str, sentences: int) -> str:
    words = [sentence(rng, a, b, domain, template) for template in rng.sample(SENTENCES, sentences)]
    if rng.random() < 0.3:
        words[0] = words[0].replace(a, f"**{a}**", 1)
    if rng.random() < 0.15:
        words[-1] = f"{words[-1][:-1]}, roughly {rng.choice(INLINE_MATH)} in the usual analysis."
    return " ".join(words)


def answer(rng: random.Random, a: str, b: str, domain: str, pool) -> str:
    """20 to 400 words of Markdown, with a long tail of long answers."""
    blocks = [paragraph(rng, a, b, domain, rng.randint(1, 3))]
    extra = min(8, int(rng.expovariate(0.6)))
    for _ in range(extra):
        kind = rng.random()
        if kind < 0.35:
            blocks.append(paragraph(rng, a, rng.choice(pool)[1], domain, rng.randint(1, 4)))
        elif kind < 0.55:
            marker = "1." if rng.random() < 0.5 else "-"
            items = [f"{marker} {sentence(rng, rng.choice(pool)[1], a, domain)}" for _ in range(rng.randint(2, 5))]
            blocks.append("\n".join(items))
        elif kind < 0.7:
            language, code = rng.choice(CODE_SNIPPETS)
            blocks.append(f"```{language}\n{code}```")
        elif kind < 0.8:
            blocks.append(rng.choice(MATH))
        elif kind < 0.88:
            blocks.append(f"| aspect | {a} | {b} |\n| --- | --- | --- |\n| cost | low | high |\n| risk | medium | low |")
        elif kind < 0.95:
            slug = a.replace(" ", "-").replace("'", "").lower()
            blocks.append(f"See [a longer write-up](https://example.org/notes/{slug}) and _compare_ with {b}.")
        else:
            blocks.append(f"> {sentence(rng, a, b, domain)}")
    return "\n\n".join(blocks)


def bank(items: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    pool = concept_pool(rng)
    sections = section_count(items)
    used: set[str] = set()
    lines = [f"# Synthetic interview bank ({items} questions, seed {seed})",
             "> https://example.org/synthetic-bank", ""]
    number = 0
    for section in range(sections):
        lines += [f"## Part {section + 1}: {pool[section % len(pool)][0]} and more", ""]
        count = items // sections + (1 if section < items % sections else 0)
        for _ in range(count):
            number += 1
            text, a, b, domain = question(rng, pool, used)
            review = "??? " if rng.random() < 0.02 else ""
            lines.append(f"{number}. {review}`{text}`{rng.choice(DIFFICULTIES)}")
            lines.append(answer(rng, a, b, domain, pool))
            lines.append("")
    return "\n".join(lines)


def queries(count: int, seed: int = 0) -> list[str]:
    """Natural-language queries over the same vocabulary, none copied from the bank."""
    rng = random.Random(seed + 1)
    pool = concept_pool(rng)
    forms = ["how does {a} work", "{a} vs {b}", "why use {a}", "problems with {a} in {d}",
             "explain {a} simply", "when is {a} a bad idea", "{a} and {b} together",
             "what breaks if {a} fails", "difference {a} {b}", "example of {a}"]
    result = []
    for _ in range(count):
        domain, a = rng.choice(pool)
        _, b = rng.choice(pool)
        result.append(rng.choice(forms).format(a=a, b=b, d=domain.lower()))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("items", type=int, help="how many questions")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the bank file to write (.md)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=Path, help="also write a YAML list of --query-count queries here")
    parser.add_argument("--query-count", type=int, default=200)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(bank(args.items, args.seed), encoding="utf-8")
    if args.queries:
        # One JSON string a line: valid YAML, whatever quotes a query holds.
        args.queries.write_text("".join(f"- {json.dumps(text)}\n" for text in queries(args.query_count, args.seed)),
                                encoding="utf-8")
    print(f"wrote {args.items} questions in {section_count(args.items)} sections to {args.out}")


if __name__ == "__main__":
    main()
