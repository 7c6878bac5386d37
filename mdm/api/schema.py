"""OpenAPI descriptions drf-spectacular cannot infer on its own."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SourceSystemTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mdm.api.authentication.SourceSystemTokenAuthentication"
    name = "sourceSystemToken"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "A source system's key: `Token src_<code>_...`"}
