export { ConfirmButton } from "./ConfirmButton";
export { Field, SelectField, TextAreaField } from "./Field";
export { JsonEditor, parseJson, type JsonParse } from "./JsonEditor";
export { Pager, usePaged } from "./Pager";
export { Loading, Page } from "./Page";
export { NOT_MEASURED, formatBytes, formatJson, formatTime, measured, percent } from "./format";
