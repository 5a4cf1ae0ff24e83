"""The page's components rendered without a browser (solara.render)."""

import io
import time

import ipyvuetify as v
import solara
from ipyvuetify.extra import FileInput

from fleetsim.viz import app, panels
from fleetsim.viz.runner import LiveRun


def choose_file(rc, name: str, data: bytes) -> None:
    """What the browser does when a visitor picks a file: name and size first, the bytes
    when asked (here from memory)."""
    widget = rc.find(FileInput).widget
    widget.get_files = lambda timeout=30: [{"name": name, "size": len(data),
                                             "file_obj": io.BytesIO(data)}]
    widget.file_info = [{"name": name, "size": len(data)}]


def wait_for(found, seconds: float = 30.0) -> None:
    """Wait for the upload thread (a child process checks the file)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if found():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def texts(rc) -> list[str]:
    """What the page says: vuetify text and the headline's HTML blocks."""
    return [str(w.widget.children) for w in rc.find(v.Html)] + \
        [str(w.widget.unsafe_innerHTML) for w in rc.find(solara.widgets.HTML)]


def test_control_labels_and_numbers_follow_the_language():
    run = LiveRun("mexico_city", seed=1, sample_fraction=0.01)
    lang = solara.reactive("en")

    @solara.component
    def Holder():
        panels.PolicyControls(run, lang.value, lambda: None, lambda: None, solara.reactive(0),
                              lambda key, kw: None)

    _, rc = solara.render(Holder(), handle_error=False)
    shown = " ".join(str(w.widget.children) for w in rc.find(v.Html))
    assert "Diesel price (taxes included): 26.3 MXN/L" in shown
    lang.set("es")
    shown = " ".join(str(w.widget.children) for w in rc.find(v.Html))
    assert "Precio del diésel (con impuestos): 26,3 MXN/L" in shown


def test_step_button_advances_one_month():
    run = LiveRun("mexico_city", seed=1, sample_fraction=0.01)
    playing, speed, bumped = solara.reactive(False), solara.reactive(0), []
    _, rc = solara.render(panels.RunButtons(run, "en", playing, speed, lambda: bumped.append(1),
                                            False, lambda: None, lambda key, kw: None),
                          handle_error=False)
    rc.find(v.Btn, class_="fs-step").widget.click()
    assert run.months_done == 1 and bumped == [1]
    rc.find(v.Btn, class_="fs-reset").widget.click()
    assert run.months_done == 0


def test_a_bad_upload_shows_its_problems_and_keeps_the_run():
    run = LiveRun("mexico_city", seed=1, sample_fraction=0.01)
    run.step(2)
    taken = []
    _, rc = solara.render(panels.Files(run, "en", taken.append, {}, lambda key, kw: None),
                          handle_error=False)
    choose_file(rc, "bad.yaml", b"name: ok\ndescription: x\nwhat: 1\n")
    wait_for(lambda: rc.find(v.Alert, type="error"))
    lines = [w.widget.children[0] for w in rc.find(v.Html) if w.widget.children]
    assert any(line.startswith("what: got an unknown key") for line in lines)
    assert taken == [] and run.months_done == 2


def test_the_page_renders_in_spanish_with_its_own_run():
    _, rc = solara.render(app.Page(), handle_error=False)
    assert rc.find(v.Btn, class_="fs-play").widget.children[1] == "Reproducir"
    # each page builds its own run: stepping the second leaves the first not started
    _, rc2 = solara.render(app.Page(), handle_error=False)
    rc2.find(v.Btn, class_="fs-step").widget.click()
    assert any("Sin iniciar" in h for h in texts(rc))
    assert not any("Sin iniciar" in h for h in texts(rc2))


def test_a_good_upload_becomes_the_pages_scenario():
    _, rc = solara.render(app.Page(), handle_error=False)
    text = b"name: my_city\ndescription: uploaded\nextends: mexico_city\n"
    choose_file(rc, "my_city.yaml", text)
    wait_for(lambda: rc.find(v.Select, v_model=app.UPLOADED + "my_city"))
    assert rc.find(v.Select, v_model=app.UPLOADED + "my_city").widget.items[-1] == \
        app.UPLOADED + "my_city"
    wait_for(lambda: any("uploaded" in h for h in texts(rc)))  # its description is shown


def test_the_url_sets_the_page_and_a_hostile_url_gives_the_defaults():
    routes = [solara.Route("/")]
    _, rc = solara.render(solara.RoutingProvider(
        children=[app.Page()], routes=routes, pathname="/?token=abcdefgh&lang=en&seed=7"),
        handle_error=False)
    assert rc.find(v.Btn, class_="fs-play").widget.children[1] == "Play"
    assert rc.find(v.TextField, class_="fs-seed").widget.v_model == "7"
    location = rc.find(solara.widgets.Navigator).widget.location  # what the browser's URL shows
    assert location.startswith("/?token=abcdefgh&lang=en&view=live&")
    _, rc = solara.render(solara.RoutingProvider(
        children=[app.Page()], routes=routes, pathname="/?seed=-1&scenario=../../etc&lang=xx"),
        handle_error=False)
    assert rc.find(v.Btn, class_="fs-play").widget.children[1] == "Reproducir"
    notice = rc.find(v.Alert, class_="fs-notice").widget
    assert "Un valor del enlace no es válido" in str(notice.children)
