"""The browserless load benchmark speaks Streamlit's protocol correctly: a deep link over the websocket renders the
right page with its images, and a page that does not exist is reported, not timed as a success."""

from __future__ import annotations

import asyncio
import io
import urllib.request

import pytest
from PIL import Image

from app.launch import running_dashboard
from benchmarks.bench_server_load import tour, visit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dashboard():
    with running_dashboard() as url:
        yield url


def test_a_deep_link_over_the_websocket_renders_that_page_and_its_images(dashboard) -> None:
    action, page, query, title = tour(0)[0]
    result = asyncio.run(visit(dashboard, page, query))
    assert title in result.headings and not result.errors
    assert result.media  # the class page's pictures, each fetched once like a browser does
    picture = Image.open(io.BytesIO(urllib.request.urlopen(dashboard + sorted(result.media)[0], timeout=30).read()))
    assert picture.size[0] > 0 and picture.size[1] > 0


def test_every_page_of_the_tour_renders_without_errors(dashboard) -> None:
    for action, page, query, title in tour(1):
        result = asyncio.run(visit(dashboard, page, query))
        assert title in result.headings and not result.errors, (action, result.headings[:3], result.errors)


def test_a_page_that_does_not_exist_is_an_error(dashboard) -> None:
    result = asyncio.run(visit(dashboard, "no_such_page", ""))
    assert any("page not found" in error for error in result.errors)
