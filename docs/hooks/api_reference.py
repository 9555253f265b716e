"""The site's API reference, generated from graphql.schema on every build (a MkDocs hook,
registered under `hooks:` in mkdocs.yml).

Every type, field, argument, input field and enum value of the schema file is rendered with
its description, on pages of their own under reference/: the three root operation types
first, then objects and interfaces, input types, enums and scalars, and a page of every
error code (the `ErrorCode` enum). Each element has an anchor (`Agent`, `Agent.logs`,
`Agent.logs.level`, `AgentState.RUNNING`), and every type named in a field, an argument or
an input field links to where that type is described. Nothing in the schema may go
undescribed: an element without a description fails the build, naming it.

The pages are never written into docs/: they exist only in the build (`mkdocs build`,
`mkdocs serve`, which also rebuilds when graphql.schema changes).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSyntaxError,
    build_schema,
    print_ast,
    specified_scalar_types,
)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

SCHEMA_FILE = "graphql.schema"
DIRECTORY = "reference"

# Each page: (file name, title). The root operation types each have a page, under their
# own names as anchors; the other types are on the page of their kind.
INDEX = "index.md"
ROOT_PAGES = {
    "query": ("queries.md", "Queries"),
    "mutation": ("mutations.md", "Mutations"),
    "subscription": ("subscriptions.md", "Subscriptions"),
}
OBJECTS = ("objects.md", "Objects and interfaces")
INPUTS = ("inputs.md", "Input types")
ENUMS = ("enums.md", "Enums")
SCALARS = ("scalars.md", "Scalars")
ERRORS = ("error-codes.md", "Error codes")
ERROR_ENUM = "ErrorCode"

GENERATED_NOTE = (
    "This page is generated from `graphql.schema` each time the site is built; the schema's "
    "descriptions are its text."
)

Element = GraphQLField | GraphQLArgument | GraphQLInputField


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Adds the reference's pages to the build."""
    reference = Reference.load(schema_path(config))
    for name, content in reference.pages().items():
        files.append(File.generated(config, f"{DIRECTORY}/{name}", content=content))
    return files


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    """`mkdocs serve` rebuilds when the schema file changes, as it does for docs/."""
    server.watch(str(schema_path(config)))
    return server


def schema_path(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent / SCHEMA_FILE


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Every element of the schema (built-in scalars and introspection types apart) that has
    no description, as `type Agent`, `field Agent.logs`, `argument Agent.logs(level)`,
    `input field AgentFilter.states` or `enum value AgentState.RUNNING`."""
    missing = []

    def check(where: str, description: str | None) -> None:
        if not (description and description.strip()):
            missing.append(where)

    for named in user_types(schema):
        name = named.name
        check(f"type {name}", named.description)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                check(f"field {name}.{field_name}", field.description)
                for arg_name, arg in field.args.items():
                    check(f"argument {name}.{field_name}({arg_name})", arg.description)
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                check(f"input field {name}.{field_name}", input_field.description)
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                check(f"enum value {name}.{value_name}", value.description)
    for directive in schema.directives:
        if directive.ast_node is None:  # a built-in directive
            continue
        check(f"directive @{directive.name}", directive.description)
        for arg_name, arg in directive.args.items():
            check(f"argument @{directive.name}({arg_name})", arg.description)
    return missing


def user_types(schema: GraphQLSchema) -> list[GraphQLNamedType]:
    """The schema's own types, by name: no introspection type, no built-in scalar."""
    return [
        named
        for name, named in sorted(schema.type_map.items())
        if not name.startswith("__") and name not in specified_scalar_types
    ]


def markdown(text: str | None) -> str:
    """A description as Markdown. Descriptions are CommonMark (code spans, links), but plain
    `*` (as in `*key`), `_` and `<...>` mean themselves there: escaped outside code spans."""
    if not text:
        return ""
    parts = re.split(r"(`[^`\n]*`)", text.strip())
    for i in range(0, len(parts), 2):
        part = parts[i].replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")
        parts[i] = part.replace("<", "&lt;").replace(">", "&gt;")
    return "".join(parts)


def indented(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


@dataclass(frozen=True)
class Use:
    """Where a type is used: the element's label and its anchor."""

    label: str
    page: str
    anchor: str


class Reference:
    def __init__(self, schema: GraphQLSchema):
        self.schema = schema
        roots = {
            "query": schema.query_type,
            "mutation": schema.mutation_type,
            "subscription": schema.subscription_type,
        }
        self.roots = {kind: root for kind, root in roots.items() if root is not None}
        root_names = {root.name for root in self.roots.values()}
        types = [t for t in user_types(schema) if t.name not in root_names]
        self.objects = [t for t in types if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)]
        self.inputs = [t for t in types if isinstance(t, GraphQLInputObjectType)]
        self.enums = [t for t in types if isinstance(t, GraphQLEnumType)]
        custom_scalars = [t for t in types if isinstance(t, GraphQLScalarType)]
        builtin_scalars = [
            schema.type_map[name]
            for name in sorted(specified_scalar_types)
            if name in schema.type_map
        ]
        self.scalars = custom_scalars + builtin_scalars
        self.page_of: dict[str, str] = {}
        for kind, root in self.roots.items():
            self.page_of[root.name] = ROOT_PAGES[kind][0]
        for group, page in (
            (self.objects, OBJECTS),
            (self.inputs, INPUTS),
            (self.enums, ENUMS),
            (self.scalars, SCALARS),
        ):
            for named in group:
                self.page_of[named.name] = page[0]
        self.uses = self._uses()

    @classmethod
    def load(cls, path: Path) -> Reference:
        try:
            schema = build_schema(path.read_text(encoding="utf-8"))
        except (OSError, GraphQLSyntaxError, TypeError) as exc:
            raise PluginError(f"API reference: cannot read {path}: {exc}") from exc
        missing = undescribed(schema)
        if missing:
            raise PluginError(
                f"API reference: {len(missing)} elements of {SCHEMA_FILE} have no description "
                "(describe them where the schema is defined, then run kai export-schema):\n  "
                + "\n  ".join(missing)
            )
        return cls(schema)

    # --- links -----------------------------------------------------------------------------

    def _uses(self) -> dict[str, list[Use]]:
        """For each type, the fields, arguments and input fields whose type it is."""
        uses: dict[str, list[Use]] = defaultdict(list)
        for named in [*self.roots.values(), *self.objects, *self.inputs]:
            page = self.page_of[named.name]
            if isinstance(named, GraphQLInputObjectType):
                for field_name, input_field in named.fields.items():
                    target = named_type(input_field.type).name
                    anchor = f"{named.name}.{field_name}"
                    uses[target].append(Use(anchor, page, anchor))
                continue
            assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
            for field_name, field in named.fields.items():
                anchor = f"{named.name}.{field_name}"
                uses[named_type(field.type).name].append(Use(anchor, page, anchor))
                for arg_name, arg in field.args.items():
                    label = f"{named.name}.{field_name}({arg_name})"
                    uses[named_type(arg.type).name].append(Use(label, page, f"{anchor}.{arg_name}"))
        return uses

    def link(self, name: str, label: str, here: str) -> str:
        page = self.page_of[name]
        target = f"#{name}" if page == here else f"{page}#{name}"
        return f"[`{label}`]({target})"

    def type_link(self, type_: Any, here: str) -> str:
        return self.link(named_type(type_).name, str(type_), here)

    def use_link(self, use: Use, here: str) -> str:
        target = f"#{use.anchor}" if use.page == here else f"{use.page}#{use.anchor}"
        return f"[`{use.label}`]({target})"

    # --- pages -----------------------------------------------------------------------------

    def pages(self) -> dict[str, str]:
        found = {INDEX: self.index_page()}
        for kind, root in self.roots.items():
            name, title = ROOT_PAGES[kind]
            found[name] = self.root_page(kind, root, name, title)
        found[OBJECTS[0]] = self.types_page(OBJECTS, self.objects, self.object_type)
        found[INPUTS[0]] = self.types_page(INPUTS, self.inputs, self.input_type)
        found[ENUMS[0]] = self.types_page(ENUMS, self.enums, self.enum_type)
        found[SCALARS[0]] = self.types_page(SCALARS, self.scalars, self.scalar_type)
        found[ERRORS[0]] = self.errors_page()
        return found

    def index_page(self) -> str:
        lines = [
            "# API reference",
            "",
            "Every type of kAI's GraphQL schema, with every field, argument, input field and "
            "enum value, as `kai serve` serves it. The schema's descriptions are the text; "
            "[the guides](../concepts.md) say how the parts work together. " + GENERATED_NOTE,
            "",
            "Each element has an anchor of its own: `objects.md#Agent` for a type, "
            "`objects.md#Agent.logs` for one of its fields, `objects.md#Agent.logs.level` for "
            "an argument of that field, `enums.md#AgentState.RUNNING` for an enum value.",
            "",
            "## Root operations",
            "",
        ]
        for kind, root in self.roots.items():
            name, title = ROOT_PAGES[kind]
            fields = ", ".join(f"[`{f}`]({name}#{root.name}.{f})" for f in root.fields)
            lines += [f"- [{title}]({name}) (`{root.name}`): {fields}", ""]
        groups = (
            (OBJECTS, self.objects),
            (INPUTS, self.inputs),
            (ENUMS, self.enums),
            (SCALARS, self.scalars),
        )
        for (page, title), group in groups:
            lines += [f"## {title}", ""]
            lines += [
                f"- [`{named.name}`]({page}#{named.name}): {markdown(summary(named))}"
                for named in group
            ]
            lines.append("")
        codes = self.error_codes()
        if codes is not None:
            lines += [
                "## Error codes",
                "",
                f"The {len(codes.values)} values of `extensions.code`: "
                + ", ".join(f"[`{code}`]({ERRORS[0]}#{code})" for code in codes.values)
                + ".",
                "",
            ]
        return "\n".join(lines)

    def root_page(self, kind: str, root: GraphQLObjectType, here: str, title: str) -> str:
        lines = [
            f"# {title} {{#{root.name}}}",
            "",
            f"The fields of `{root.name}`, the schema's {kind} type: {markdown(root.description)}",
            "",
            GENERATED_NOTE,
            "",
        ]
        for field_name, field in root.fields.items():
            lines += [f"## `{field_name}` {{#{root.name}.{field_name}}}", ""]
            lines += self.field_body(root.name, field_name, field, here, heading=True)
        return "\n".join(lines)

    def types_page(self, page: tuple[str, str], group: list[Any], render: Any) -> str:
        here, title = page
        lines = [f"# {title}", "", GENERATED_NOTE, ""]
        for named in group:
            lines += render(named, here)
        return "\n".join(lines)

    def heading(self, named: GraphQLNamedType, kind: str) -> list[str]:
        return [
            f"## {named.name} {{#{named.name}}}",
            "",
            f"*{kind}*",
            "",
            markdown(named.description),
            "",
        ]

    def used_by(self, named: GraphQLNamedType, here: str) -> list[str]:
        uses = self.uses.get(named.name, [])
        if not uses:
            return []
        return ["Used by: " + ", ".join(self.use_link(use, here) for use in uses) + ".", ""]

    def object_type(self, named: GraphQLObjectType | GraphQLInterfaceType, here: str) -> list[str]:
        if isinstance(named, GraphQLInterfaceType):
            lines = self.heading(named, "interface")
            implementations = self.schema.get_implementations(named).objects
            if implementations:
                links = ", ".join(self.link(o.name, o.name, here) for o in implementations)
                lines += [f"Implemented by: {links}.", ""]
        else:
            lines = self.heading(named, "object")
        if named.interfaces:
            links = ", ".join(self.link(i.name, i.name, here) for i in named.interfaces)
            lines += [f"Implements: {links}.", ""]
        lines += self.used_by(named, here)
        lines += ["**Fields**", ""]
        for field_name, field in named.fields.items():
            lines += self.field_body(named.name, field_name, field, here, heading=False)
        return lines

    def field_body(
        self, owner: str, field_name: str, field: GraphQLField, here: str, *, heading: bool
    ) -> list[str]:
        """A field as a definition (name: type, then its description and arguments), or, on a
        root operation's page, under a heading of its own."""
        anchor = f"{owner}.{field_name}"
        body = [markdown(field.description)]
        if field.deprecation_reason is not None:
            body.append(f"**Deprecated**: {markdown(field.deprecation_reason)}")
        if field.args:
            body.append("Arguments:")
            body.append("\n".join(self.argument(anchor, n, a, here) for n, a in field.args.items()))
        if heading:
            return [f"Returns {self.type_link(field.type, here)}.", "", "\n\n".join(body), ""]
        term = f'<span id="{anchor}"></span>`{field_name}`: {self.type_link(field.type, here)}'
        return [term, ":   " + indented("\n\n".join(body), 4).lstrip(), ""]

    def argument(self, field_anchor: str, name: str, arg: GraphQLArgument, here: str) -> str:
        anchor = f"{field_anchor}.{name}"
        default = default_of(arg)
        item = f'- <span id="{anchor}"></span>`{name}`: {self.type_link(arg.type, here)}{default}'
        description = markdown(arg.description)
        if arg.deprecation_reason is not None:
            description += f" **Deprecated**: {markdown(arg.deprecation_reason)}"
        return item + "<br>\n" + indented(description, 2)

    def input_type(self, named: GraphQLInputObjectType, here: str) -> list[str]:
        lines = self.heading(named, "input")
        lines += self.used_by(named, here)
        lines += ["**Input fields**", ""]
        for field_name, input_field in named.fields.items():
            anchor = f"{named.name}.{field_name}"
            default = default_of(input_field)
            term = (
                f'<span id="{anchor}"></span>`{field_name}`: '
                f"{self.type_link(input_field.type, here)}{default}"
            )
            description = markdown(input_field.description)
            if input_field.deprecation_reason is not None:
                description += f" **Deprecated**: {markdown(input_field.deprecation_reason)}"
            lines += [term, ":   " + indented(description, 4).lstrip(), ""]
        return lines

    def enum_type(self, named: GraphQLEnumType, here: str) -> list[str]:
        lines = self.heading(named, "enum")
        if named.name == ERROR_ENUM:
            lines += [f"Each value, with what comes with it: [{ERRORS[1]}]({ERRORS[0]}).", ""]
        lines += self.used_by(named, here)
        lines += ["**Values**", ""]
        for value_name, value in named.values.items():
            anchor = f"{named.name}.{value_name}"
            description = markdown(value.description)
            if value.deprecation_reason is not None:
                description += f" **Deprecated**: {markdown(value.deprecation_reason)}"
            lines += [
                f'<span id="{anchor}"></span>`{value_name}`',
                ":   " + indented(description, 4).lstrip(),
                "",
            ]
        return lines

    def scalar_type(self, named: GraphQLScalarType, here: str) -> list[str]:
        kind = "built-in scalar" if named.name in specified_scalar_types else "scalar"
        lines = self.heading(named, kind)
        if named.specified_by_url:
            lines += [f"Specified by <{named.specified_by_url}>.", ""]
        return lines

    def error_codes(self) -> GraphQLEnumType | None:
        found = self.schema.type_map.get(ERROR_ENUM)
        return found if isinstance(found, GraphQLEnumType) else None

    def errors_page(self) -> str:
        title = ERRORS[1]
        lines = [
            f"# {title}",
            "",
            "Every error kAI sends carries one of these codes in `extensions.code`: the values "
            f"of the schema's [`{ERROR_ENUM}`]({ENUMS[0]}#{ERROR_ENUM}) enum, so a client "
            "generated from the schema has them as a type. Some codes come with more "
            "extensions, named below. [Errors and limits](../errors.md) says when each is "
            "sent and what HTTP status goes with it. " + GENERATED_NOTE,
            "",
        ]
        codes = self.error_codes()
        if codes is None:
            raise PluginError(f"API reference: {SCHEMA_FILE} has no {ERROR_ENUM} enum")
        for value_name, value in codes.values.items():
            lines += [f"## `{value_name}` {{#{value_name}}}", "", markdown(value.description), ""]
        return "\n".join(lines)


def named_type(type_: Any) -> GraphQLNamedType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    assert isinstance(type_, GraphQLNamedType)
    return type_


def default_of(element: GraphQLArgument | GraphQLInputField) -> str:
    """` = <default>` as the schema file writes it, or nothing when there is none."""
    node = element.ast_node
    if node is None or node.default_value is None:
        return ""
    return f" = `{print_ast(node.default_value)}`"


def summary(named: GraphQLNamedType) -> str:
    """The first line of a type's description."""
    return (named.description or "").strip().split("\n", 1)[0]
