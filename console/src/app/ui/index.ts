export { ConfirmButton } from "./ConfirmButton";
export { Field, SelectField, TextAreaField } from "./Field";
export { JsonEditor, parseJson, type JsonParse } from "./JsonEditor";
export { LoadMore } from "./LoadMore";
export { Loading, Page } from "./Page";
export { NOT_MEASURED, countOf, formatBytes, formatJson, formatTime, measured, percent } from "./format";
