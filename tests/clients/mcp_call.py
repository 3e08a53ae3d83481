"""Calls one tool of connector-host's MCP server over Streamable HTTP with
the official MCP Python SDK and prints the result as JSON.

    python mcp_call.py '{"url": ..., "token": ..., "tool": ..., "arguments": {...}}'
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def main(config):
    headers = {"Authorization": f"Bearer {config['token']}"}
    server = streamable_http_client(config["url"], http_client=httpx2.AsyncClient(headers=headers, timeout=60))
    async with Client(server) as client:
        call = await client.call_tool(config["tool"], config["arguments"])
        print(json.dumps({
            "is_error": call.is_error,
            "structured": call.structured_content,
            "text": [getattr(block, "text", None) for block in call.content],
        }))


asyncio.run(asyncio.wait_for(main(json.loads(sys.argv[1])), 120))
