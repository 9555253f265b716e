"""ariadne-codegen plugins for kai-sdk's client; generate.py loads them in the codegen
environment (where ariadne-codegen is installed)."""

from __future__ import annotations

import ast

from ariadne_codegen.plugins.base import Plugin
from graphql import GraphQLInputField, OperationDefinitionNode


class ScalarObjectDefaults(Plugin):
    """An input field of a custom scalar whose default is an object literal, like
    `AgentCommandInput.params: JSON = {}`: ariadne-codegen 0.19 writes
    `Field(default_factory=lambda: globals()[""].model_validate({}))`, which raises
    KeyError as soon as the field is left out. Make it `lambda: {}`."""

    def generate_input_field(
        self, field_implementation: ast.AnnAssign, input_field: GraphQLInputField, field_name: str
    ) -> ast.AnnAssign:
        value = field_implementation.value
        if not isinstance(value, ast.Call):
            return field_implementation
        for keyword in value.keywords:
            factory = keyword.value
            if keyword.arg != "default_factory" or not isinstance(factory, ast.Lambda):
                continue
            body = factory.body
            if (
                isinstance(body, ast.Call)
                and isinstance(body.func, ast.Attribute)
                and body.func.attr == "model_validate"
                and isinstance(body.func.value, ast.Subscript)
                and isinstance(body.func.value.slice, ast.Constant)
                and body.func.value.slice.value == ""
                and len(body.args) == 1
            ):
                factory.body = body.args[0]
        return field_implementation


class ClosingSubscriptions(Plugin):
    """An async subscription method closes the stream it reads when it is closed itself.

    ariadne-codegen writes `async for data in self.execute_ws(...): yield ...`: a caller
    that stops early (`break`, aclose()) closes the method's generator, but not
    execute_ws's, which then holds its socket until the garbage collector finalises it.
    Make it `async with aclosing(self.execute_ws(...)) as results: async for data in
    results: ...`, and say it returns an AsyncGenerator (which a caller can aclose)."""

    def generate_client_module(self, module: ast.Module) -> ast.Module:
        uses = any(
            isinstance(node, ast.Name) and node.id == "aclosing" for node in ast.walk(module)
        )
        if uses:
            imports = [
                ast.ImportFrom("contextlib", [ast.alias("aclosing")], 0),
                ast.ImportFrom("collections.abc", [ast.alias("AsyncGenerator")], 0),
            ]
            module.body[:0] = [ast.fix_missing_locations(node) for node in imports]
        return module

    def generate_client_method(
        self,
        method_def: ast.FunctionDef | ast.AsyncFunctionDef,
        operation_definition: OperationDefinitionNode,
    ) -> ast.FunctionDef | ast.AsyncFunctionDef:
        body = method_def.body
        for index, statement in enumerate(body):
            if not (
                isinstance(statement, ast.AsyncFor)
                and isinstance(statement.iter, ast.Call)
                and isinstance(statement.iter.func, ast.Attribute)
                and statement.iter.func.attr == "execute_ws"
            ):
                continue
            stream = statement.iter
            statement.iter = ast.Name("results", ast.Load())
            returns = method_def.returns
            if isinstance(returns, ast.Subscript):  # AsyncIterator[X]: AsyncGenerator[X, None]
                method_def.returns = ast.fix_missing_locations(
                    ast.Subscript(
                        ast.Name("AsyncGenerator", ast.Load()),
                        ast.Tuple([returns.slice, ast.Constant(None)], ast.Load()),
                        ast.Load(),
                    )
                )
            body[index] = ast.fix_missing_locations(
                ast.copy_location(
                    ast.AsyncWith(
                        items=[
                            ast.withitem(
                                ast.Call(ast.Name("aclosing", ast.Load()), [stream], []),
                                ast.Name("results", ast.Store()),
                            )
                        ],
                        body=[statement],
                    ),
                    statement,
                )
            )
        return method_def
