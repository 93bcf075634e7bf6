"""The interview web page in a real headless Chromium: frames beside the chat, answers saved, persona shown."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from personas.interview.agent import InterviewAgent
from personas.interview.outline import load_outline
from personas.interview.web import TOKEN_HEADER, InterviewWebApp, make_server
from personas.persona import persona_card
from personas.synthesis import synthesise

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,800")


@pytest.fixture
def served(tmp_path: Path, features, scripted):
    agent = InterviewAgent.start(scripted, tmp_path / "iv", load_outline().limited(max_sections=3, max_budget=1), features)
    app = InterviewWebApp(agent, on_finish=lambda a: persona_card(synthesise(a.model, a.turns, a.features, "web-test")))
    server = make_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", agent
    server.shutdown()
    server.server_close()


def _browser(profile: Path):
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        pytest.fail("this test needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in CHROMIUM_FLAGS + (f"--user-data-dir={profile}",):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)


@pytest.mark.slow
def test_web_interview_in_headless_chromium(tmp_path: Path, served) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    url, agent = served
    driver = _browser(Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)))
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 30)
        frames = driver.find_elements(By.CSS_SELECTOR, ".example img")
        assert len(frames) == len(agent.catalogue)
        wait.until(lambda d: all(d.execute_script("return arguments[0].naturalWidth", f) > 0 for f in frames))
        for number in (1, 2, 3):
            wait.until(lambda d, n=number: len(d.find_elements(By.CSS_SELECTOR, ".question")) == n
                       and d.find_element(By.ID, "send").is_enabled())
            if number == 1:
                assert driver.find_elements(By.CSS_SELECTOR, ".example.cited")  # cited videos are highlighted
                driver.save_screenshot(str(tmp_path / "interview.png"))
            driver.find_element(By.ID, "answer").send_keys(f"web answer {number}")
            driver.find_element(By.ID, "send").click()
        wait.until(ready.visibility_of_element_located((By.ID, "persona-card")))
        assert "# Persona web-test" in driver.find_element(By.ID, "persona-card").text
        answers = [e.get_attribute("textContent") for e in driver.find_elements(By.CSS_SELECTOR, ".answer")]
    finally:
        driver.quit()
    assert answers == ["web answer 1", "web answer 2", "web answer 3"]
    assert agent.finished and [t.answer for t in agent.turns] == answers
    assert (tmp_path / "interview.png").stat().st_size > 5000


def _token(url: str) -> str:
    page = urllib.request.urlopen(url, timeout=10).read().decode()
    return page.split('name="personaact-token" content="', 1)[1].split('"', 1)[0]


def test_page_refuses_foreign_host_and_unknown_frames(served) -> None:
    url, agent = served
    request = urllib.request.Request(url + "api/state", headers={"Host": "evil.example:80", TOKEN_HEADER: _token(url)})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url + "frames/..%2F..%2Fetc%2Fpasswd", timeout=10)
    assert err.value.code == 404
    own = {TOKEN_HEADER: _token(url)}
    state = json.loads(urllib.request.urlopen(urllib.request.Request(url + "api/state", headers=own), timeout=10).read())
    assert state["turns"][0]["answer"] is None and not state["finished"]
    bad = urllib.request.Request(url + "api/answer", data=json.dumps({"turn_id": 99, "text": "x"}).encode(), method="POST",
                                 headers={**own, "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad, timeout=10)
    assert err.value.code == 400 and agent.turns[0].answer is None


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url + "api/answer", data=body, method="POST", headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as err:
        return err.code


def test_answers_from_another_site_are_refused(served) -> None:
    """A page on evil.example cannot answer for the participant (CSRF): Origin, JSON and the session token."""
    url, agent = served
    token = _token(url)
    turn = json.loads(urllib.request.urlopen(urllib.request.Request(url + "api/state", headers={TOKEN_HEADER: token}),
                                             timeout=10).read())["turns"][0]["turn_id"]
    body = json.dumps({"turn_id": turn, "text": "forged"}).encode()
    json_type = {"Content-Type": "application/json"}
    assert _post(url, body, {"Origin": "http://evil.example", "Content-Type": "text/plain", TOKEN_HEADER: token}) == 403
    assert _post(url, body, {"Origin": "http://evil.example", **json_type, TOKEN_HEADER: token}) == 403
    assert _post(url, body, {"Content-Type": "text/plain", TOKEN_HEADER: token}) == 415
    assert _post(url, body, json_type) == 403  # no token
    assert _post(url, body, {**json_type, TOKEN_HEADER: token[:-1] + "x"}) == 403
    assert _post(url, body, {**json_type, TOKEN_HEADER: token, "Content-Length": "many"}) == 400
    for bad in ({"turn_id": turn, "text": 42}, {"turn_id": turn, "text": "  "}, ["not", "an", "object"]):
        assert _post(url, json.dumps(bad).encode(), {**json_type, TOKEN_HEADER: token}) == 400
    assert agent.turns[0].answer is None
    state = urllib.request.Request(url + "api/state")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(state, timeout=10)
    assert err.value.code == 403
    origin = url.rstrip("/")
    assert _post(url, body, {"Origin": origin, **json_type, TOKEN_HEADER: token}) == 200
    assert agent.turns[0].answer == "forged"


def test_a_failing_chat_model_is_an_error_on_the_page_not_a_traceback(tmp_path: Path, features) -> None:
    from personas.models import ChatBackendError
    from personas.models.fake import ScriptedChatModel

    def broken(messages):
        raise ChatBackendError("POST http://127.0.0.1:9/v1/chat/completions failed: server down")

    agent = InterviewAgent.start(ScriptedChatModel(broken), tmp_path / "iv", load_outline().limited(max_sections=1,
                                 max_budget=1), features)
    server = make_server(InterviewWebApp(agent))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        request = urllib.request.Request(url + "api/state", headers={TOKEN_HEADER: _token(url)})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 502 and "server down" in json.loads(err.value.read())["error"]
    finally:
        server.shutdown()
        server.server_close()


def test_a_taken_port_is_a_named_error(tmp_path: Path, features, scripted) -> None:
    import socket

    from recorder.errors import PersonaActError

    agent = InterviewAgent.start(scripted, tmp_path / "iv", load_outline().limited(max_sections=1, max_budget=1), features)
    with socket.create_server(("127.0.0.1", 0)) as busy:
        with pytest.raises(PersonaActError, match=f"127.0.0.1:{busy.getsockname()[1]}.*--port"):
            make_server(InterviewWebApp(agent), busy.getsockname()[1])
