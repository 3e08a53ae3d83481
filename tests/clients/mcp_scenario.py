"""Drives connector-host's MCP server with the official MCP Python SDK.

    python mcp_scenario.py '<json config>'

The config names the server: {"command", "args", "env"} for stdio, or
{"url", "token"} for Streamable HTTP. The scenario lists every tool
(following pagination), creates a user pool and a user in it through the
Cognito tools, makes a call with a misspelt field, runs the stored workflow
tool the config names ("workflow": {"tool", "inputs", "bad_inputs"}) with
good and bad inputs, and, when the config has
"add": {"src", "dst"}, copies a component into the watched directory and
waits for notifications/tools/list_changed. It prints one JSON report.
"""

import asyncio
import json
import shutil
import sys

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


def result(call):
    return {
        "is_error": call.is_error,
        "structured": call.structured_content,
        "text": [getattr(block, "text", None) for block in call.content],
    }


async def all_tools(client):
    tools, cursor, pages = [], None, 0
    while True:
        page = await client.list_tools(cursor=cursor, cache_mode="refresh")
        pages += 1
        tools += page.tools
        cursor = page.next_cursor
        if not cursor:
            return tools, pages


async def main(config):
    changed = asyncio.Event()

    async def on_message(message):
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            changed.set()

    if "url" in config:
        headers = {"Authorization": f"Bearer {config['token']}"} if config.get("token") else {}
        server = streamable_http_client(config["url"], http_client=httpx2.AsyncClient(headers=headers, timeout=60))
    else:
        server = StdioServerParameters(command=config["command"], args=config["args"], env=config["env"])
    report = {}
    async with Client(server, message_handler=on_message) as client:
        tools, pages = await all_tools(client)
        report["pages"] = pages
        report["tools"] = [tool.name for tool in tools]
        by_name = {tool.name: tool for tool in tools}
        create = by_name.get("aws-cognito__create_user_pool")
        report["create_user_pool"] = None if create is None else {
            "title": create.title,
            "description": create.description,
            "input_schema": create.input_schema,
        }
        report["hints"] = {
            tool.name: [tool.annotations.read_only_hint, tool.annotations.destructive_hint] for tool in tools
        }
        if create is not None:
            pool = result(await client.call_tool("aws-cognito__create_user_pool", {"pool_name": "MCP Pool"}))
            report["pool"] = pool
            pool_id = (pool["structured"] or {}).get("UserPool", {}).get("Id")
            user = await client.call_tool(
                "aws-cognito__admin_create_user",
                {"user_pool_id": pool_id, "username": "mcp-user", "message_action": "SUPPRESS"},
            )
            report["user"] = result(user)
            report["misspelt"] = result(await client.call_tool("aws-cognito__create_user_pool", {"pool_nme": "Typo"}))
        report["unknown"] = result(await client.call_tool("nobody__nothing", {}))
        if "workflow" in config:
            tool = by_name.get(config["workflow"]["tool"])
            report["workflow_tool"] = None if tool is None else {"title": tool.title, "input_schema": tool.input_schema}
            report["workflow_run"] = result(await client.call_tool(config["workflow"]["tool"], config["workflow"]["inputs"]))
            report["workflow_refused"] = result(
                await client.call_tool(config["workflow"]["tool"], config["workflow"]["bad_inputs"])
            )
        if "add" in config:
            notified = False
            try:
                async with client.listen(tools_list_changed=True) as subscription:
                    shutil.copy(config["add"]["src"], config["add"]["dst"])
                    async for _event in subscription:
                        notified = True
                        break
            except Exception as error:  # a handshake-era session: the notification comes as a message
                report["listen"] = type(error).__name__
                shutil.copy(config["add"]["src"], config["add"]["dst"])
                await asyncio.wait_for(changed.wait(), 60)
                notified = changed.is_set()
            report["list_changed"] = notified
            tools, _ = await all_tools(client)
            report["tools_after"] = [tool.name for tool in tools]
    print(json.dumps(report))


asyncio.run(asyncio.wait_for(main(json.loads(sys.argv[1])), 240))
