"""The terminal front end of the interview: rich prompts, one question at a time, stop any time and resume later."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table

from personas.interview.agent import InterviewAgent
from personas.interview.transcript import Turn

STOP_WORDS = ("/quit", "/stop", "/exit")
Ask = Callable[[], str]


def examples_table(agent: InterviewAgent) -> Table:
    """The person's example videos the questions may cite."""
    table = Table(title="your example videos", show_lines=False)
    for column in ("id", "video", "creator", "category", "watched"):
        table.add_column(column)
    for cited in agent.catalogue:
        example = cited.example
        table.add_row(cited.id, cited.title, example.author or "", example.category,
                      f"{example.watch_s:.1f} s" + (" ♥" if example.liked else ""))
    return table


def show_question(console: Console, agent: InterviewAgent, turn: Turn, last_section: str | None) -> str:
    """Print the question (with a section heading when the section changes); return its section id."""
    if turn.section != last_section:
        console.rule(f"[bold]{agent.outline.section(turn.section).title}")
    cited = ", ".join(f"{c} = {example.title}" for c in turn.cites if (example := agent.example(c)) is not None)
    console.print(Panel(turn.question, title=f"question {turn.turn_id}", subtitle=cited or None, expand=False))
    return turn.section


def run_terminal(agent: InterviewAgent, console: Console, ask: Ask | None = None) -> bool:
    """Ask until the interview ends (True) or the person stops it (False); every answer is saved at once."""
    prompt = ask or (lambda: Prompt.ask("[bold green]you[/bold green]", console=console))
    console.print(examples_table(agent))
    console.print(f"Type your answer and press Enter; type {STOP_WORDS[0]} (or Ctrl-C) to stop and resume later.")
    last_section: str | None = None
    while True:
        with console.status("thinking of the next question…"):
            turn = agent.next_question()
        if turn is None:
            return True
        last_section = show_question(console, agent, turn, last_section)
        text = _read_answer(prompt, console)
        if text is None:
            console.print(f"[yellow]stopped:[/yellow] {sum(t.answered for t in agent.turns)} answers saved in "
                          f"{agent.store.folder}; continue with --resume")
            return False
        with console.status("saving…"):
            agent.answer(text)


def _read_answer(prompt: Ask, console: Console) -> str | None:
    """The next non-empty answer, or None when the person stops (stop word, Ctrl-C, end of input)."""
    while True:
        try:
            text = prompt().strip()
        except (KeyboardInterrupt, EOFError):
            return None
        if text.lower() in STOP_WORDS:
            return None
        if text:
            return text
        console.print("[dim]an empty answer is not saved; please type something (or /quit)[/dim]")
