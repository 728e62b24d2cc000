from tests.pages import get_page, page_text


def test_landing_page_is_japanese_by_default(client):
    page = get_page(client, "public.index")
    assert page.html["lang"] == "ja"
    assert "官民共創マッチング" in page_text(page)


def test_unknown_page_has_japanese_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.get_data(as_text=True)
