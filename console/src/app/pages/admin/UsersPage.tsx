/**
 * Administration: every account with its role and whether it is active, filtered by role,
 * status and email by the server (`users(filter:)`, oldest first, growing with "Load more",
 * with the list's totalCount); an administrator changes another account's role, and
 * disables or enables it (setUserRole, setUserActive). Nobody changes their own: the server
 * refuses it, so the page offers no control for it.
 */
import { useId, useState } from "react";
import { useMutation } from "urql";

import { graphql } from "../../../gql";
import type { Role, UsersPageUserFragment } from "../../../gql/graphql";
import { useConnection, useSettled } from "../../connection";
import { ErrorMessage } from "../../errors";
import { useSession } from "../../session";
import { ConfirmButton, Field, LoadMore, Loading, Page, SelectField, countOf, formatTime } from "../../ui";
import { Fact, Facts } from "../Facts";
import "../pages.css";
import { ROLES, ROLE_WORDS } from "../words";

graphql(`
  fragment UsersPageUser on User {
    id
    email
    displayName
    role
    active
    createdAt
  }
`);

const UsersQuery = graphql(`
  query UsersPageUsers($filter: UserFilter, $first: Int, $after: String) {
    users(filter: $filter, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...UsersPageUser
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`);

const SetRoleMutation = graphql(`
  mutation UsersPageSetRole($userId: ID!, $role: Role!) {
    setUserRole(userId: $userId, role: $role) {
      ...UsersPageUser
    }
  }
`);

const SetActiveMutation = graphql(`
  mutation UsersPageSetActive($userId: ID!, $active: Boolean!) {
    setUserActive(userId: $userId, active: $active) {
      ...UsersPageUser
    }
  }
`);

type User = UsersPageUserFragment;

const PAGE_SIZE = 25;

export function UsersPage() {
  const session = useSession();
  const [emailFilter, setEmailFilter] = useState("");
  const [roleFilter, setRoleFilter] = useState<Role | "">("");
  const [activeFilter, setActiveFilter] = useState<"" | "true" | "false">("");
  const email = useSettled(emailFilter.trim());
  const filtered = Boolean(email || roleFilter || activeFilter);
  const filter = filtered
    ? { emailContains: email || null, roles: roleFilter ? [roleFilter] : null, active: activeFilter === "" ? null : activeFilter === "true" }
    : null;
  const users = useConnection(UsersQuery, { filter }, (data) => data.users, PAGE_SIZE);
  const total = users.totalCount;

  return (
    <Page title="Users">
      <form className="filters" role="search" aria-label="Filter users" onSubmit={(event) => event.preventDefault()}>
        <Field label="Email contains" type="search" maxLength={200} value={emailFilter} onChange={(event) => setEmailFilter(event.target.value)} />
        <SelectField label="Role" value={roleFilter} onChange={(event) => setRoleFilter(event.target.value as Role | "")}>
          <option value="">Any role</option>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_WORDS[r]}
            </option>
          ))}
        </SelectField>
        <SelectField label="Status" value={activeFilter} onChange={(event) => setActiveFilter(event.target.value as typeof activeFilter)}>
          <option value="">Active or disabled</option>
          <option value="true">Active only</option>
          <option value="false">Disabled only</option>
        </SelectField>
        <button type="button" onClick={users.refresh} disabled={users.fetching}>
          Refresh<span className="visually-hidden"> the list of users</span>
        </button>
      </form>
      <ErrorMessage error={users.error} />
      {users.loading ? <Loading what="users" /> : null}
      {total !== null ? (
        <p role="status" className="muted">
          {filtered ? `${total === 1 ? "1 account matches" : `${total} accounts match`} these filters` : `${countOf(total, "account")} in all`}
        </p>
      ) : null}
      {total === 0 ? <p className="muted">No account matches these filters.</p> : null}
      {users.nodes.length > 0 ? (
        <ul className="cards" aria-label="Users" aria-busy={users.stale || undefined}>
          {users.nodes.map((user) => (
            <UserItem key={user.id} user={user} self={user.id === session.user?.id} />
          ))}
        </ul>
      ) : null}
      <LoadMore
        what="accounts"
        shown={users.nodes.length}
        total={total}
        hasNextPage={users.hasNextPage}
        grown={users.grown}
        loading={users.loadingMore}
        onMore={() => void users.loadMore()}
      />
    </Page>
  );
}

function UserItem({ user: read, self }: { user: User; self: boolean }) {
  const [role, setRole] = useState<Role>(read.role);
  const [roleResult, saveRole] = useMutation(SetRoleMutation);
  const [activeResult, saveActive] = useMutation(SetActiveMutation);
  // The account as the last change here left it, until the list is read again.
  const [changed, setChanged] = useState<{ read: User; user: User } | null>(null);
  const user = changed && changed.read === read ? changed.user : read;
  const keep = (next: User) => setChanged({ read, user: next });
  const [said, setSaid] = useState("");
  const headingId = useId();
  const name = user.displayName ? `${user.displayName} (${user.email})` : user.email;

  return (
    <li className="card user" aria-labelledby={headingId} data-active={user.active}>
      <h3 id={headingId}>{name}</h3>
      <Facts>
        <Fact term="Role">{ROLE_WORDS[user.role]}</Fact>
        <Fact term="Account">{user.active ? "Active" : "Disabled: cannot sign in or use its API keys"}</Fact>
        <Fact term="Registered">{formatTime(user.createdAt)}</Fact>
      </Facts>
      {self ? (
        <p className="hint">This is your own account: nobody changes their own role or status.</p>
      ) : (
        <>
          <form
            className="inline-form"
            onSubmit={(event) => {
              event.preventDefault();
              setSaid("");
              void saveRole({ userId: user.id, role }).then((result) => {
                if (!result.data) return;
                keep(result.data.setUserRole);
                setSaid(`${user.email} is now ${ROLE_WORDS[result.data.setUserRole.role]}.`);
              });
            }}
          >
            <SelectField label={`Role of ${user.email}`} value={role} onChange={(event) => setRole(event.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_WORDS[r]}
                </option>
              ))}
            </SelectField>
            <button type="submit" disabled={role === user.role || roleResult.fetching}>
              Change role<span className="visually-hidden"> of {user.email}</span>
            </button>
          </form>
          <div className="actions">
            {user.active ? (
              <ConfirmButton
                danger
                aria-label={`Disable ${user.email}`}
                question={`Disable ${user.email}? Their sessions and API keys stop at once, and enabling the account again brings none of them back.`}
                confirmLabel="Yes, disable the account"
                onConfirm={async () => {
                  setSaid("");
                  const result = await saveActive({ userId: user.id, active: false });
                  if (!result.data) return;
                  keep(result.data.setUserActive);
                  setSaid(`${user.email} is disabled.`);
                }}
              >
                Disable
              </ConfirmButton>
            ) : (
              <button
                type="button"
                disabled={activeResult.fetching}
                onClick={() => {
                  setSaid("");
                  void saveActive({ userId: user.id, active: true }).then((result) => {
                    if (!result.data) return;
                    keep(result.data.setUserActive);
                    setSaid(`${user.email} is enabled again; they sign in anew.`);
                  });
                }}
              >
                Enable<span className="visually-hidden"> {user.email}</span>
              </button>
            )}
          </div>
        </>
      )}
      <ErrorMessage error={roleResult.error ?? activeResult.error} />
      <p role="status" className="status">
        {said}
      </p>
    </li>
  );
}
