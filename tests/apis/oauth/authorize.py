"""Obtains a refresh token from the test's oidc-provider the way an operator
would: the authorization-code flow through the provider's own login and
consent pages, then the code exchanged at the token endpoint. Prints the
refresh token.

    python authorize.py BASE_URL CLIENT_SECRET
"""

import re
import sys
import urllib.parse

import httpx2

base, secret = sys.argv[1], sys.argv[2]
callback = "http://127.0.0.1/callback"
client = httpx2.Client(follow_redirects=False, timeout=30)
response = client.get(f"{base}/auth", params={
    "client_id": "connector-host", "response_type": "code", "redirect_uri": callback,
    "scope": "openid offline_access read", "prompt": "consent",
})
code = None
for _ in range(12):
    if response.status_code in (302, 303):
        location = response.headers["location"]
        if location.startswith(callback):
            code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
            break
        response = client.get(urllib.parse.urljoin(base, location))
        continue
    page = response.text
    action = re.search(r'action="([^"]+)"', page).group(1)
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    if 'name="login"' in page:
        fields.update({"login": "operator", "password": "any"})
    response = client.post(urllib.parse.urljoin(base, action), data=fields)
if code is None:
    sys.exit(f"no code came back: {response.status_code} {response.text[:500]}")
token = client.post(f"{base}/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": callback},
                    auth=("connector-host", secret))
token.raise_for_status()
print(token.json()["refresh_token"])
