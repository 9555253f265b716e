/**
 * The Approvals pages' GraphQL documents: an approval as every page shows it, the lists (the
 * inbox's pending ones, the decided ones, one agent's), one approval, the decision, the live
 * feed of new requests (approvalRequests) and the count of pending ones for the navigation.
 */
import { graphql } from "../../../gql";
import type { ApprovalKind, ApprovalState, ApprovalsPageApprovalFragment } from "../../../gql/graphql";

graphql(`
  fragment ApprovalsPageApproval on Approval {
    id
    kind
    subject
    state
    reason
    createdAt
    expiresAt
    decidedAt
    agent {
      id
      name
    }
    requestedBy {
      id
      email
      displayName
    }
    decidedBy {
      id
      email
      displayName
    }
  }
`);

export type Approval = ApprovalsPageApprovalFragment;
export type { ApprovalKind, ApprovalState };

export const ApprovalsQuery = graphql(`
  query ApprovalsPageApprovals($filter: ApprovalFilter, $first: Int, $after: String) {
    approvals(filter: $filter, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...ApprovalsPageApproval
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

export const ApprovalQuery = graphql(`
  query ApprovalPageApproval($id: ID!) {
    approval(id: $id) {
      ...ApprovalsPageApproval
    }
  }
`);

// The agents to filter by, by name (every agent for ADMIN).
export const ApprovalAgentsQuery = graphql(`
  query ApprovalsPageAgents {
    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

export const DecideApprovalMutation = graphql(`
  mutation ApprovalsPageDecide($id: ID!, $approve: Boolean!, $reason: String) {
    decideApproval(id: $id, approve: $approve, reason: $reason) {
      ...ApprovalsPageApproval
    }
  }
`);

// New PENDING approvals the signed-in person may decide, as they are asked (live.tsx).
export const ApprovalRequestsSubscription = graphql(`
  subscription ConsoleApprovalRequests {
    approvalRequests {
      ...ApprovalsPageApproval
    }
  }
`);

// How many wait for a decision: the count beside Approvals in the navigation.
export const PendingApprovalsQuery = graphql(`
  query ConsolePendingApprovals {
    approvals(filter: { states: [PENDING] }, first: 1) {
      totalCount
    }
  }
`);
