/**
 * The Schedules pages' GraphQL documents: a schedule as every page shows it, the agents a
 * schedule may run on (with the task types each takes), and the mutations.
 */
import { graphql } from "../../../gql";
import type { SchedulesPageScheduleFragment } from "../../../gql/graphql";

graphql(`
  fragment SchedulesPageSchedule on Schedule {
    id
    name
    cron
    timezone
    runAt
    active
    nextRunAt
    lastRunAt
    createdAt
    agent {
      id
      name
      type
    }
    task {
      type
      payload
      priority
      retries
      timeoutSeconds
    }
  }
`);

export type Schedule = SchedulesPageScheduleFragment;

// The agents to choose from, by name, and the task types of each agent type.
export const ScheduleAgentsQuery = graphql(`
  query SchedulesPageAgents {
    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {
      edges {
        node {
          id
          name
          type
          state
          configuration
        }
      }
    }
    agentTypes {
      name
      taskTypes
    }
  }
`);

export const CreateScheduleMutation = graphql(`
  mutation SchedulesPageCreate($input: ScheduleInput!) {
    createSchedule(input: $input) {
      ...SchedulesPageSchedule
    }
  }
`);

export const UpdateScheduleMutation = graphql(`
  mutation SchedulesPageUpdate($id: ID!, $input: SchedulePatch!) {
    updateSchedule(id: $id, input: $input) {
      ...SchedulesPageSchedule
    }
  }
`);

export const DeleteScheduleMutation = graphql(`
  mutation SchedulesPageDelete($id: ID!) {
    deleteSchedule(id: $id)
  }
`);

export const RunScheduleNowMutation = graphql(`
  mutation SchedulesPageRunNow($id: ID!) {
    runScheduleNow(id: $id) {
      ...TasksPageTask
    }
  }
`);
