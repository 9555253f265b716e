/**
 * Administration: every account with its role and whether it is active; an administrator
 * changes another account's role, and disables or enables it (setUserRole, setUserActive).
 * Nobody changes their own: the server refuses it, so the page offers no control for it.
 */
import { useId, useState } from "react";
import { useMutation, useQuery } from "urql";

import { graphql } from "../../../gql";
import type { Role, UsersPageUserFragment } from "../../../gql/graphql";
import { ErrorMessage } from "../../errors";
import { useSession } from "../../session";
import { ConfirmButton, Loading, Page, Pager, SelectField, formatTime, usePaged } from "../../ui";
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
  query UsersPageUsers {
    users {
      ...UsersPageUser
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
  const [{ data, fetching, error }, refetch] = useQuery({ query: UsersQuery });
  const [filter, setFilter] = useState("");
  const users = (data?.users ?? []).filter((user) => {
    const wanted = filter.trim().toLowerCase();
    return !wanted || user.email.includes(wanted) || (user.displayName ?? "").toLowerCase().includes(wanted);
  });
  const paged = usePaged(users, PAGE_SIZE, filter);
  const searchId = useId();

  return (
    <Page title="Users">
      <div className="toolbar">
        <div className="field">
          <label htmlFor={searchId}>Find by email or name</label>
          <input id={searchId} type="search" value={filter} onChange={(event) => setFilter(event.target.value)} />
        </div>
        <button type="button" onClick={() => refetch({ requestPolicy: "network-only" })} disabled={fetching}>
          Refresh<span className="visually-hidden"> the list of users</span>
        </button>
      </div>
      <ErrorMessage error={error} />
      {fetching && !data ? <Loading what="users" /> : null}
      {data && users.length === 0 ? <p className="muted">No account matches “{filter}”.</p> : null}
      {paged.items.length > 0 ? (
        <ul className="cards" aria-label="Users">
          {paged.items.map((user) => (
            <UserItem key={user.id} user={user} self={user.id === session.user?.id} />
          ))}
        </ul>
      ) : null}
      <Pager page={paged.page} pages={paged.pages} setPage={paged.setPage} label="users" first={paged.first} last={paged.last} total={paged.total} />
    </Page>
  );
}

function UserItem({ user, self }: { user: User; self: boolean }) {
  const [role, setRole] = useState<Role>(user.role);
  const [roleResult, saveRole] = useMutation(SetRoleMutation);
  const [activeResult, saveActive] = useMutation(SetActiveMutation);
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
                if (result.data) setSaid(`${user.email} is now ${ROLE_WORDS[result.data.setUserRole.role]}.`);
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
                  if (result.data) setSaid(`${user.email} is disabled.`);
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
                    if (result.data) setSaid(`${user.email} is enabled again; they sign in anew.`);
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
