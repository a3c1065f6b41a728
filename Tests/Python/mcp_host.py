"""Plays an agent host against `loomctl mcp` with the official Python MCP client.

Usage: mcp_host.py LOOMCTL SOCKET PROJECT GATE_FLAG
Submits a task, executes each agent step the server hands out (in the task's worktree),
reports the results, tries the two things a host must not get away with (reviewing its
own work under one session; approving a gate), and, at the gate, writes the gate event id
to GATE_FLAG so that the person (the calling test) answers it. Prints one JSON line.
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

STEPS_MAX = 200


class ToolError(Exception):
    pass


def field(value, snake, camel):
    """Versions of the client spell fields differently (is_error / isError)."""
    return getattr(value, snake) if hasattr(value, snake) else getattr(value, camel)


def failed(result):
    return field(result, "is_error", "isError")


def parse(result):
    text = result.content[0].text
    if failed(result):
        raise ToolError(text)
    return json.loads(text)


OUTPUTS = {
    "implementer": {"summary": "Wrote 42."},
    "adjudicator": {"verdict": "accept", "summary": "fine", "dismissed": [], "findings": []},
    "summarizer": {"summary": "value.txt holds 42."},
}


async def main():
    loomctl, socket, project, gate_flag = sys.argv[1:5]
    environment = dict(os.environ)
    environment["LOOM_SOCKET"] = socket
    server = StdioServerParameters(command=loomctl, args=["mcp", "--socket", socket, "--project", project], env=environment)
    report = {"roles": [], "sessions": {}}
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            initialized = await session.initialize()
            report["server"] = field(initialized, "server_info", "serverInfo").name
            report["tools"] = sorted(tool.name for tool in (await session.list_tools()).tools)

            async def call(name, arguments):
                return await session.call_tool(name, arguments)

            submitted = parse(await call("submit", {"input": "Make value.txt hold 42", "bundle": "code", "flow": "simple", "policy": "full-supervised"}))
            task = submitted["task"]
            report["task"] = task
            for _ in range(STEPS_MAX):
                step = parse(await call("next_step", {"task": task, "wait_seconds": 20}))
                state = step["state"]
                if state == "step":
                    role, key, workdir = step["role"], step["key"], step["workdir"]
                    report["roles"].append(role)
                    assert workdir in step["instructions"], "the instructions name the worktree"
                    if role == "implementer":
                        with open(os.path.join(workdir, "value.txt"), "w") as handle:
                            handle.write("42\n")
                        session_name = "author"
                    elif role.startswith("reviewer-") or role == "adjudicator":
                        session_name = "review-" + role
                    else:
                        session_name = "author"
                    output = OUTPUTS.get(role, {"verdict": "APPROVE", "summary": "ok", "findings": []})
                    if role.startswith("reviewer-") and "self_review" not in report:
                        # One session reviewing the work it wrote: refused by the bundle's rule.
                        refused = await call("report_step", {"key": key, "output": json.dumps(output), "session": "author"})
                        report["self_review"] = refused.content[0].text if failed(refused) else "NOT REFUSED"
                    delivered = parse(await call("report_step", {"key": key, "output": json.dumps(output), "session": session_name}))
                    report["sessions"][role] = delivered["author"]
                elif state == "waiting_for_gate":
                    if "host_approval" not in report:
                        gate = step["gate"]["event"]
                        report["gates"] = parse(await call("gates", {}))
                        refused = await call("answer_gate", {"task": task, "answer": "approve", "gate": gate})
                        report["host_approval"] = refused.content[0].text if failed(refused) else "NOT REFUSED"
                        with open(gate_flag, "w") as handle:
                            handle.write(gate)
                    await asyncio.sleep(0.2)
                elif state == "finished":
                    report["finished"] = step
                    break
            report["replay"] = parse(await call("replay", {"task": task}))
            report["status"] = parse(await call("status", {"task": task}))
    print(json.dumps(report))


asyncio.run(main())
