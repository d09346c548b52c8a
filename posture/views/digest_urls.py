"""The weekly digest's pages: preferences and the signed one-click unsubscribe."""

urlpatterns: list = []
