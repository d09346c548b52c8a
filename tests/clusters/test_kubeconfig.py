import pytest

from clusters.kubeconfig import KubeconfigError, credentials
from tests import kubeconfigs


@pytest.mark.threat('A pasted kubeconfig makes the worker run a command, read a file, skip TLS or send credentials in clear',
                     'Only inline credentials: exec, auth-provider, file paths, insecure-skip-tls-verify, proxy-url, http and link-local servers, YAML aliases and files over 1 MiB are refused with a specific message')
@pytest.mark.parametrize(("case", "text", "context", "message"), kubeconfigs.rejections(),
                         ids=[r[0] for r in kubeconfigs.rejections()])
def test_refuses_with_a_specific_message(case, text, context, message):
    with pytest.raises(KubeconfigError) as refused:
        credentials(text, context)
    assert message in str(refused.value)
    assert "Traceback" not in str(refused.value)


def test_valid_kubeconfig_gives_inline_credentials():
    creds = credentials(kubeconfigs.text(kubeconfigs.kubeconfig()))
    assert creds.server == "https://127.0.0.1:6443"
    assert creds.token == kubeconfigs.TOKEN
    assert creds.ca_pem.startswith("-----BEGIN CERTIFICATE-----")


@pytest.mark.threat('Credentials reach logs or tracebacks',
                     'Credential objects leave secrets out of repr and str')
def test_secrets_never_appear_in_repr():
    creds = credentials(kubeconfigs.text(kubeconfigs.kubeconfig()))
    assert kubeconfigs.TOKEN not in repr(creds)
    assert kubeconfigs.TOKEN not in str(creds)


def test_picks_the_named_context_among_several():
    text = kubeconfigs.text(kubeconfigs.kubeconfig(contexts=("one", "two"), current="one"))
    assert credentials(text).context == "one"
    assert credentials(text, "two").context == "two"


def test_minimal_kubeconfig_round_trips():
    creds = credentials(kubeconfigs.text(kubeconfigs.kubeconfig(contexts=("a", "b"))), "b")
    again = credentials(creds.to_kubeconfig())
    assert again == creds


def test_bytes_that_are_not_utf8_are_refused():
    with pytest.raises(KubeconfigError, match="not UTF-8"):
        credentials(b"\xff\xfe\x00kind: Config")


def test_link_local_server_is_allowed_when_configured():
    text = kubeconfigs.text(kubeconfigs.kubeconfig(server="https://169.254.10.1:6443"))
    assert credentials(text, allow_link_local=True).server == "https://169.254.10.1:6443"


@pytest.mark.parametrize("contexts", [("only",), ("one", "two")])
def test_current_context_naming_no_context_is_refused_not_replaced(contexts):
    # kubectl says `error: context "gone" does not exist`; using another context instead would
    # register a cluster nobody chose.
    text = kubeconfigs.text(kubeconfigs.kubeconfig(contexts=contexts, current="gone"))
    with pytest.raises(KubeconfigError) as refused:
        credentials(text)
    message = str(refused.value)
    assert refused.value.field == "context"
    assert "current-context 'gone' names no context" in message
    assert f"it has: {', '.join(contexts)}" in message
    assert "choose the context" in message.lower()
    assert kubeconfigs.TOKEN not in message


def test_a_chosen_context_wins_over_a_dangling_current_context():
    text = kubeconfigs.text(kubeconfigs.kubeconfig(contexts=("only",), current="gone"))
    assert credentials(text, "only").context == "only"


def test_without_current_context_the_only_context_is_used():
    text = kubeconfigs.text(kubeconfigs.kubeconfig(contexts=("only",), current=None))
    assert credentials(text).context == "only"
