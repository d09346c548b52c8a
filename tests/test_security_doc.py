from tests.threats import DOC, collect, render


def test_security_doc_matches_the_marked_tests():
    entries = collect()
    assert len(entries) >= 20, "expected the security tests to carry threat markers"
    assert DOC.read_text() == render(entries), "run: python -m tests.threats"
