/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment AuthPayloadFields on AuthPayload {\n    accessToken\n    refreshToken\n    expiresAt\n    user {\n      id\n      email\n      displayName\n      role\n    }\n  }\n": typeof types.AuthPayloadFieldsFragmentDoc,
    "\n  mutation ConsoleRefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      ...AuthPayloadFields\n    }\n  }\n": typeof types.ConsoleRefreshTokenDocument,
    "\n  query ConsoleAgent($id: ID!) {\n    agent(id: $id) {\n      id\n      name\n      type\n      state\n      capabilities\n      createdAt\n      updatedAt\n      lastSeen\n      resources {\n        memory\n        cpu\n        storage\n        gpu\n      }\n      tasks(first: 10) {\n        edges {\n          node {\n            id\n            type\n            state\n            progress\n            createdAt\n            approval {\n              id\n            }\n          }\n        }\n        pageInfo {\n          hasNextPage\n        }\n        totalCount\n      }\n      files {\n        id\n        originalName\n        size\n        mimeType\n        uploadedAt\n      }\n    }\n  }\n": typeof types.ConsoleAgentDocument,
    "\n  query ConsoleAgents($filter: AgentFilter, $orderBy: AgentOrder, $first: Int, $after: String) {\n    agents(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          name\n          type\n          state\n          capabilities\n          updatedAt\n          lastSeen\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": typeof types.ConsoleAgentsDocument,
    "\n  subscription ConsoleAgentStateEvents($agentId: ID!) {\n    agentEvents(agentId: $agentId) {\n      seq\n      type\n      data\n    }\n  }\n": typeof types.ConsoleAgentStateEventsDocument,
    "\n  mutation ConsoleStopAgent($id: ID!) {\n    stopAgent(id: $id) {\n      id\n      state\n    }\n  }\n": typeof types.ConsoleStopAgentDocument,
    "\n  mutation ConsoleRestartAgent($id: ID!) {\n    restartAgent(id: $id) {\n      id\n      state\n    }\n  }\n": typeof types.ConsoleRestartAgentDocument,
    "\n  mutation ConsoleDeleteAgent($id: ID!) {\n    deleteAgent(id: $id)\n  }\n": typeof types.ConsoleDeleteAgentDocument,
    "\n  fragment ApiKeysPageKey on ApiKey {\n    id\n    name\n    prefix\n    permissions\n    agentIds\n    createdAt\n    expiresAt\n    lastUsedAt\n    active\n  }\n": typeof types.ApiKeysPageKeyFragmentDoc,
    "\n  query ApiKeysPageKeys($includeRevoked: Boolean, $first: Int, $after: String) {\n    apiKeys(includeRevoked: $includeRevoked, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApiKeysPageKey\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": typeof types.ApiKeysPageKeysDocument,
    "\n  query ApiKeysPageAgents($ownerId: ID!) {\n    agents(filter: { ownerId: $ownerId }, orderBy: { field: NAME, direction: ASC }, first: 500) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n": typeof types.ApiKeysPageAgentsDocument,
    "\n  mutation ApiKeysPageCreate($input: ApiKeyInput!) {\n    createApiKey(input: $input) {\n      secret\n      apiKey {\n        ...ApiKeysPageKey\n      }\n    }\n  }\n": typeof types.ApiKeysPageCreateDocument,
    "\n  mutation ApiKeysPageRevoke($id: ID!) {\n    revokeApiKey(id: $id) {\n      ...ApiKeysPageKey\n    }\n  }\n": typeof types.ApiKeysPageRevokeDocument,
    "\n  fragment FilesPageFile on File {\n    id\n    originalName\n    size\n    mimeType\n    checksum\n    scanStatus\n    uploadedAt\n    uploadedBy {\n      id\n      email\n    }\n    agent {\n      id\n      name\n    }\n  }\n": typeof types.FilesPageFileFragmentDoc,
    "\n  query FilesPageFiles($filter: FileFilter, $orderBy: FileOrder, $first: Int, $after: String) {\n    files(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...FilesPageFile\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": typeof types.FilesPageFilesDocument,
    "\n  query FilesPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n": typeof types.FilesPageAgentsDocument,
    "\n  mutation FilesPageUpload($file: Upload!, $agentId: ID) {\n    uploadFile(file: $file, agentId: $agentId) {\n      ...FilesPageFile\n    }\n  }\n": typeof types.FilesPageUploadDocument,
    "\n  query FilesPageDownloadUrl($id: ID!) {\n    file(id: $id) {\n      id\n      url\n    }\n  }\n": typeof types.FilesPageDownloadUrlDocument,
    "\n  mutation FilesPageDelete($id: ID!) {\n    deleteFile(id: $id)\n  }\n": typeof types.FilesPageDeleteDocument,
    "\n  query FilesPageSearch($query: String!, $agentId: ID, $limit: Int) {\n    search(query: $query, agentId: $agentId, limit: $limit) {\n      chunk\n      score\n      file {\n        id\n        originalName\n      }\n    }\n  }\n": typeof types.FilesPageSearchDocument,
    "\n  fragment TasksPageTask on Task {\n    id\n    type\n    state\n    payload\n    progress\n    result\n    error\n    attempts\n    priority\n    retries\n    timeoutSeconds\n    runAt\n    createdAt\n    startedAt\n    completedAt\n    agent {\n      id\n      name\n    }\n    approval {\n      id\n      state\n      expiresAt\n    }\n  }\n": typeof types.TasksPageTaskFragmentDoc,
    "\n  mutation TasksPageCancel($id: ID!) {\n    cancelTask(id: $id) {\n      ...TasksPageTask\n    }\n  }\n": typeof types.TasksPageCancelDocument,
    "\n  subscription TasksPageTaskUpdates($taskId: ID!) {\n    taskUpdates(taskId: $taskId) {\n      ...TasksPageTask\n    }\n  }\n": typeof types.TasksPageTaskUpdatesDocument,
    "\n  fragment TasksPageAgent on Agent {\n    id\n    name\n    type\n    state\n    configuration\n  }\n": typeof types.TasksPageAgentFragmentDoc,
    "\n  query TasksPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          ...TasksPageAgent\n        }\n      }\n    }\n    agentTypes {\n      name\n      taskTypes\n    }\n  }\n": typeof types.TasksPageAgentsDocument,
    "\n  query TasksPageAgent($id: ID!) {\n    agent(id: $id) {\n      ...TasksPageAgent\n    }\n  }\n": typeof types.TasksPageAgentDocument,
    "\n  query TasksPageTasks($filter: TaskFilter, $orderBy: TaskOrder, $first: Int, $after: String) {\n    tasks(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...TasksPageTask\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": typeof types.TasksPageTasksDocument,
    "\n  mutation TasksPageEnqueue($agentId: ID!, $input: TaskInput!, $idempotencyKey: String) {\n    enqueueTask(agentId: $agentId, input: $input, idempotencyKey: $idempotencyKey) {\n      ...TasksPageTask\n    }\n  }\n": typeof types.TasksPageEnqueueDocument,
    "\n  query AuditPageUsers {\n    users(first: 500) {\n      edges {\n        node {\n          id\n          email\n        }\n      }\n    }\n  }\n": typeof types.AuditPageUsersDocument,
    "\n  query AuditPageLog($userId: ID, $action: String, $granted: Boolean, $first: Int, $after: String) {\n    auditLog(userId: $userId, action: $action, granted: $granted, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          action\n          resource\n          granted\n          timestamp\n          requestId\n          user {\n            id\n            email\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.AuditPageLogDocument,
    "\n  fragment UsersPageUser on User {\n    id\n    email\n    displayName\n    role\n    active\n    createdAt\n  }\n": typeof types.UsersPageUserFragmentDoc,
    "\n  query UsersPageUsers($filter: UserFilter, $first: Int, $after: String) {\n    users(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...UsersPageUser\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": typeof types.UsersPageUsersDocument,
    "\n  mutation UsersPageSetRole($userId: ID!, $role: Role!) {\n    setUserRole(userId: $userId, role: $role) {\n      ...UsersPageUser\n    }\n  }\n": typeof types.UsersPageSetRoleDocument,
    "\n  mutation UsersPageSetActive($userId: ID!, $active: Boolean!) {\n    setUserActive(userId: $userId, active: $active) {\n      ...UsersPageUser\n    }\n  }\n": typeof types.UsersPageSetActiveDocument,
    "\n  query ConsoleAgentTypes {\n    agentTypes {\n      name\n      description\n      configSchema\n      taskTypes\n    }\n  }\n": typeof types.ConsoleAgentTypesDocument,
    "\n  mutation ConsoleCreateAgent($input: AgentConfigInput!) {\n    createAgent(input: $input) {\n      id\n      name\n      type\n      state\n      capabilities\n      updatedAt\n    }\n  }\n": typeof types.ConsoleCreateAgentDocument,
    "\n  mutation ConsoleUpdateAgent($id: ID!, $input: AgentConfigPatch!) {\n    updateAgent(id: $id, input: $input) {\n      id\n      name\n      state\n      capabilities\n      updatedAt\n    }\n  }\n": typeof types.ConsoleUpdateAgentDocument,
    "\n  query ConsoleAgentConfiguration($id: ID!) {\n    agent(id: $id) {\n      id\n      configuration\n    }\n  }\n": typeof types.ConsoleAgentConfigurationDocument,
    "\n  query ConsoleAgentApprovalPolicy($id: ID!) {\n    agent(id: $id) {\n      id\n      approvalPolicy {\n        commands\n        taskTypes\n        timeoutSeconds\n      }\n    }\n  }\n": typeof types.ConsoleAgentApprovalPolicyDocument,
    "\n  mutation ConsoleUpdateApprovalPolicy($id: ID!, $input: AgentConfigPatch!) {\n    updateAgent(id: $id, input: $input) {\n      id\n      approvalPolicy {\n        commands\n        taskTypes\n        timeoutSeconds\n      }\n    }\n  }\n": typeof types.ConsoleUpdateApprovalPolicyDocument,
    "\n  mutation ConsoleSendCommand($agentId: ID!, $command: AgentCommandInput!, $idempotencyKey: String) {\n    sendCommand(agentId: $agentId, command: $command, idempotencyKey: $idempotencyKey) {\n      success\n      result\n      error\n      durationMs\n      timestamp\n      approval {\n        id\n        state\n        expiresAt\n      }\n    }\n  }\n": typeof types.ConsoleSendCommandDocument,
    "\n  subscription ConsoleAgentEvents($agentId: ID!, $after: Int) {\n    agentEvents(agentId: $agentId, after: $after) {\n      seq\n      type\n      data\n      timestamp\n    }\n  }\n": typeof types.ConsoleAgentEventsDocument,
    "\n  query ConsoleAgentStatus($id: ID!) {\n    agentStatus(id: $id) {\n      id\n      state\n      lastSeen\n      health {\n        status\n        uptime\n        memoryUsage\n        cpuUsage\n        responseTime\n      }\n      metrics {\n        commandsTotal\n        commandsFailed\n        tasksPending\n        tasksRunning\n        tasksCompleted\n        tasksFailed\n        meanResponseMs\n        p95ResponseMs\n      }\n    }\n  }\n": typeof types.ConsoleAgentStatusDocument,
    "\n  query ConsoleAgentLogs($agentId: ID!, $level: LogLevel, $first: Int, $after: String) {\n    agentLogs(agentId: $agentId, level: $level, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          level\n          message\n          timestamp\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.ConsoleAgentLogsDocument,
    "\n  subscription ConsoleStreamPrompt($agentId: ID!, $input: StreamPromptInput!) {\n    streamPrompt(agentId: $agentId, input: $input) {\n      streamId\n      index\n      delta\n      done\n    }\n  }\n": typeof types.ConsoleStreamPromptDocument,
    "\n  query ApprovalPageOutcome($id: ID!) {\n    approval(id: $id) {\n      id\n      state\n      task {\n        id\n        type\n        state\n        error\n        result\n      }\n      commandResult {\n        success\n        result\n        error\n        timestamp\n      }\n    }\n  }\n": typeof types.ApprovalPageOutcomeDocument,
    "\n  fragment ApprovalsPageApproval on Approval {\n    id\n    kind\n    subject\n    state\n    reason\n    createdAt\n    expiresAt\n    decidedAt\n    agent {\n      id\n      name\n    }\n    requestedBy {\n      id\n      email\n      displayName\n    }\n    decidedBy {\n      id\n      email\n      displayName\n    }\n  }\n": typeof types.ApprovalsPageApprovalFragmentDoc,
    "\n  query ApprovalsPageApprovals($filter: ApprovalFilter, $first: Int, $after: String) {\n    approvals(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApprovalsPageApproval\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": typeof types.ApprovalsPageApprovalsDocument,
    "\n  query ApprovalPageApproval($id: ID!) {\n    approval(id: $id) {\n      ...ApprovalsPageApproval\n    }\n  }\n": typeof types.ApprovalPageApprovalDocument,
    "\n  query ApprovalsPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n": typeof types.ApprovalsPageAgentsDocument,
    "\n  mutation ApprovalsPageDecide($id: ID!, $approve: Boolean!, $reason: String) {\n    decideApproval(id: $id, approve: $approve, reason: $reason) {\n      ...ApprovalsPageApproval\n    }\n  }\n": typeof types.ApprovalsPageDecideDocument,
    "\n  subscription ConsoleApprovalRequests {\n    approvalRequests {\n      ...ApprovalsPageApproval\n    }\n  }\n": typeof types.ConsoleApprovalRequestsDocument,
    "\n  query ConsolePendingApprovals {\n    approvals(filter: { states: [PENDING] }, first: 1) {\n      totalCount\n    }\n  }\n": typeof types.ConsolePendingApprovalsDocument,
    "\n  query SchedulePageSchedule($id: ID!, $first: Int, $after: String) {\n    schedule(id: $id) {\n      ...SchedulesPageSchedule\n      tasks(first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            ...TasksPageTask\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        totalCount\n      }\n    }\n  }\n": typeof types.SchedulePageScheduleDocument,
    "\n  query SchedulesPageSchedules($agentId: ID, $first: Int, $after: String) {\n    schedules(agentId: $agentId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...SchedulesPageSchedule\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": typeof types.SchedulesPageSchedulesDocument,
    "\n  fragment SchedulesPageSchedule on Schedule {\n    id\n    name\n    cron\n    timezone\n    runAt\n    active\n    nextRunAt\n    lastRunAt\n    createdAt\n    agent {\n      id\n      name\n      type\n    }\n    task {\n      type\n      payload\n      priority\n      retries\n      timeoutSeconds\n    }\n  }\n": typeof types.SchedulesPageScheduleFragmentDoc,
    "\n  query SchedulesPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n          type\n          state\n          configuration\n        }\n      }\n    }\n    agentTypes {\n      name\n      taskTypes\n    }\n  }\n": typeof types.SchedulesPageAgentsDocument,
    "\n  mutation SchedulesPageCreate($input: ScheduleInput!) {\n    createSchedule(input: $input) {\n      ...SchedulesPageSchedule\n    }\n  }\n": typeof types.SchedulesPageCreateDocument,
    "\n  mutation SchedulesPageUpdate($id: ID!, $input: SchedulePatch!) {\n    updateSchedule(id: $id, input: $input) {\n      ...SchedulesPageSchedule\n    }\n  }\n": typeof types.SchedulesPageUpdateDocument,
    "\n  mutation SchedulesPageDelete($id: ID!) {\n    deleteSchedule(id: $id)\n  }\n": typeof types.SchedulesPageDeleteDocument,
    "\n  mutation SchedulesPageRunNow($id: ID!) {\n    runScheduleNow(id: $id) {\n      ...TasksPageTask\n    }\n  }\n": typeof types.SchedulesPageRunNowDocument,
    "\n  query ThreadsPageThreads($agentId: ID, $first: Int, $after: String) {\n    threads(agentId: $agentId, orderBy: { field: UPDATED_AT, direction: DESC }, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ThreadsPageThread\n          messages(last: 1) {\n            edges {\n              node {\n                id\n                role\n                content\n              }\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": typeof types.ThreadsPageThreadsDocument,
    "\n  fragment ThreadsPageThread on Thread {\n    id\n    title\n    busy\n    createdAt\n    updatedAt\n    agent {\n      id\n      name\n      type\n      state\n    }\n  }\n": typeof types.ThreadsPageThreadFragmentDoc,
    "\n  fragment ThreadPageMessage on Message {\n    id\n    role\n    content\n    seq\n    interrupted\n    createdAt\n    usage {\n      promptTokens\n      completionTokens\n    }\n  }\n": typeof types.ThreadPageMessageFragmentDoc,
    "\n  query ThreadsPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n          type\n          state\n        }\n      }\n    }\n  }\n": typeof types.ThreadsPageAgentsDocument,
    "\n  query ThreadPageThread($id: ID!, $last: Int!, $before: String) {\n    thread(id: $id) {\n      ...ThreadsPageThread\n      messages(last: $last, before: $before) {\n        edges {\n          cursor\n          node {\n            ...ThreadPageMessage\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n": typeof types.ThreadPageThreadDocument,
    "\n  mutation ThreadsPageCreate($input: ThreadInput!) {\n    createThread(input: $input) {\n      ...ThreadsPageThread\n    }\n  }\n": typeof types.ThreadsPageCreateDocument,
    "\n  mutation ThreadsPageDelete($id: ID!) {\n    deleteThread(id: $id)\n  }\n": typeof types.ThreadsPageDeleteDocument,
    "\n  subscription ThreadPageSend($threadId: ID!, $input: MessageInput!) {\n    sendMessage(threadId: $threadId, input: $input) {\n      streamId\n      index\n      delta\n      done\n    }\n  }\n": typeof types.ThreadPageSendDocument,
    "\n  subscription ThreadPageEvents($agentId: ID!, $after: Int) {\n    agentEvents(agentId: $agentId, after: $after) {\n      seq\n      type\n      data\n      timestamp\n    }\n  }\n": typeof types.ThreadPageEventsDocument,
    "\n  query WebhooksPageDeliveries($id: ID!, $failedOnly: Boolean, $first: Int, $after: String) {\n    webhook(id: $id) {\n      id\n      deliveries(failedOnly: $failedOnly, first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            ...WebhooksPageDelivery\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        totalCount\n      }\n    }\n  }\n": typeof types.WebhooksPageDeliveriesDocument,
    "\n  query WebhooksPageWebhook($id: ID!) {\n    webhook(id: $id) {\n      ...WebhooksPageWebhook\n    }\n  }\n": typeof types.WebhooksPageWebhookDocument,
    "\n  query WebhooksPageWebhooks($first: Int, $after: String) {\n    webhooks(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...WebhooksPageWebhook\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": typeof types.WebhooksPageWebhooksDocument,
    "\n  fragment WebhooksPageWebhook on Webhook {\n    id\n    url\n    description\n    eventTypes\n    active\n    createdAt\n    agents {\n      id\n      name\n    }\n  }\n": typeof types.WebhooksPageWebhookFragmentDoc,
    "\n  fragment WebhooksPageDelivery on WebhookDelivery {\n    id\n    eventSeq\n    eventType\n    state\n    attempts\n    lastStatusCode\n    lastError\n    nextAttemptAt\n    createdAt\n    deliveredAt\n    agent {\n      id\n      name\n    }\n  }\n": typeof types.WebhooksPageDeliveryFragmentDoc,
    "\n  query WebhooksPageAgents($ownerId: ID!) {\n    agents(filter: { ownerId: $ownerId }, orderBy: { field: NAME, direction: ASC }, first: 500) {\n      edges {\n        node {\n          id\n          name\n          type\n        }\n      }\n    }\n  }\n": typeof types.WebhooksPageAgentsDocument,
    "\n  mutation WebhooksPageCreate($input: WebhookInput!) {\n    createWebhook(input: $input) {\n      secret\n      webhook {\n        ...WebhooksPageWebhook\n      }\n    }\n  }\n": typeof types.WebhooksPageCreateDocument,
    "\n  mutation WebhooksPageUpdate($id: ID!, $input: WebhookPatch!) {\n    updateWebhook(id: $id, input: $input) {\n      ...WebhooksPageWebhook\n    }\n  }\n": typeof types.WebhooksPageUpdateDocument,
    "\n  mutation WebhooksPageDelete($id: ID!) {\n    deleteWebhook(id: $id)\n  }\n": typeof types.WebhooksPageDeleteDocument,
    "\n  mutation WebhooksPageRotate($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      secret\n      webhook {\n        ...WebhooksPageWebhook\n      }\n    }\n  }\n": typeof types.WebhooksPageRotateDocument,
    "\n  mutation WebhooksPageTest($id: ID!) {\n    testWebhook(id: $id) {\n      ...WebhooksPageDelivery\n    }\n  }\n": typeof types.WebhooksPageTestDocument,
    "\n  mutation WebhooksPageRedeliver($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      ...WebhooksPageDelivery\n    }\n  }\n": typeof types.WebhooksPageRedeliverDocument,
    "\n  mutation WebhooksPageReplay($id: ID!, $agentId: ID!, $after: Int!) {\n    replayWebhook(id: $id, agentId: $agentId, after: $after)\n  }\n": typeof types.WebhooksPageReplayDocument,
    "\n  mutation ConsoleLogin($input: LoginInput!) {\n    login(input: $input) {\n      ...AuthPayloadFields\n    }\n  }\n": typeof types.ConsoleLoginDocument,
    "\n  mutation ConsoleRegister($input: RegisterInput!) {\n    register(input: $input) {\n      ...AuthPayloadFields\n    }\n  }\n": typeof types.ConsoleRegisterDocument,
    "\n  mutation ConsoleVerifyMagicLink($token: String!) {\n    verifyMagicLink(token: $token) {\n      ...AuthPayloadFields\n    }\n  }\n": typeof types.ConsoleVerifyMagicLinkDocument,
    "\n  mutation ConsoleRequestMagicLink($email: String!) {\n    requestMagicLink(email: $email)\n  }\n": typeof types.ConsoleRequestMagicLinkDocument,
    "\n  mutation ConsoleLogout {\n    logout\n  }\n": typeof types.ConsoleLogoutDocument,
    "\n  query ConsoleSessionPermissions {\n    session {\n      id\n      permissions\n    }\n  }\n": typeof types.ConsoleSessionPermissionsDocument,
};
const documents: Documents = {
    "\n  fragment AuthPayloadFields on AuthPayload {\n    accessToken\n    refreshToken\n    expiresAt\n    user {\n      id\n      email\n      displayName\n      role\n    }\n  }\n": types.AuthPayloadFieldsFragmentDoc,
    "\n  mutation ConsoleRefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      ...AuthPayloadFields\n    }\n  }\n": types.ConsoleRefreshTokenDocument,
    "\n  query ConsoleAgent($id: ID!) {\n    agent(id: $id) {\n      id\n      name\n      type\n      state\n      capabilities\n      createdAt\n      updatedAt\n      lastSeen\n      resources {\n        memory\n        cpu\n        storage\n        gpu\n      }\n      tasks(first: 10) {\n        edges {\n          node {\n            id\n            type\n            state\n            progress\n            createdAt\n            approval {\n              id\n            }\n          }\n        }\n        pageInfo {\n          hasNextPage\n        }\n        totalCount\n      }\n      files {\n        id\n        originalName\n        size\n        mimeType\n        uploadedAt\n      }\n    }\n  }\n": types.ConsoleAgentDocument,
    "\n  query ConsoleAgents($filter: AgentFilter, $orderBy: AgentOrder, $first: Int, $after: String) {\n    agents(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          name\n          type\n          state\n          capabilities\n          updatedAt\n          lastSeen\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": types.ConsoleAgentsDocument,
    "\n  subscription ConsoleAgentStateEvents($agentId: ID!) {\n    agentEvents(agentId: $agentId) {\n      seq\n      type\n      data\n    }\n  }\n": types.ConsoleAgentStateEventsDocument,
    "\n  mutation ConsoleStopAgent($id: ID!) {\n    stopAgent(id: $id) {\n      id\n      state\n    }\n  }\n": types.ConsoleStopAgentDocument,
    "\n  mutation ConsoleRestartAgent($id: ID!) {\n    restartAgent(id: $id) {\n      id\n      state\n    }\n  }\n": types.ConsoleRestartAgentDocument,
    "\n  mutation ConsoleDeleteAgent($id: ID!) {\n    deleteAgent(id: $id)\n  }\n": types.ConsoleDeleteAgentDocument,
    "\n  fragment ApiKeysPageKey on ApiKey {\n    id\n    name\n    prefix\n    permissions\n    agentIds\n    createdAt\n    expiresAt\n    lastUsedAt\n    active\n  }\n": types.ApiKeysPageKeyFragmentDoc,
    "\n  query ApiKeysPageKeys($includeRevoked: Boolean, $first: Int, $after: String) {\n    apiKeys(includeRevoked: $includeRevoked, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApiKeysPageKey\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": types.ApiKeysPageKeysDocument,
    "\n  query ApiKeysPageAgents($ownerId: ID!) {\n    agents(filter: { ownerId: $ownerId }, orderBy: { field: NAME, direction: ASC }, first: 500) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n": types.ApiKeysPageAgentsDocument,
    "\n  mutation ApiKeysPageCreate($input: ApiKeyInput!) {\n    createApiKey(input: $input) {\n      secret\n      apiKey {\n        ...ApiKeysPageKey\n      }\n    }\n  }\n": types.ApiKeysPageCreateDocument,
    "\n  mutation ApiKeysPageRevoke($id: ID!) {\n    revokeApiKey(id: $id) {\n      ...ApiKeysPageKey\n    }\n  }\n": types.ApiKeysPageRevokeDocument,
    "\n  fragment FilesPageFile on File {\n    id\n    originalName\n    size\n    mimeType\n    checksum\n    scanStatus\n    uploadedAt\n    uploadedBy {\n      id\n      email\n    }\n    agent {\n      id\n      name\n    }\n  }\n": types.FilesPageFileFragmentDoc,
    "\n  query FilesPageFiles($filter: FileFilter, $orderBy: FileOrder, $first: Int, $after: String) {\n    files(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...FilesPageFile\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": types.FilesPageFilesDocument,
    "\n  query FilesPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n": types.FilesPageAgentsDocument,
    "\n  mutation FilesPageUpload($file: Upload!, $agentId: ID) {\n    uploadFile(file: $file, agentId: $agentId) {\n      ...FilesPageFile\n    }\n  }\n": types.FilesPageUploadDocument,
    "\n  query FilesPageDownloadUrl($id: ID!) {\n    file(id: $id) {\n      id\n      url\n    }\n  }\n": types.FilesPageDownloadUrlDocument,
    "\n  mutation FilesPageDelete($id: ID!) {\n    deleteFile(id: $id)\n  }\n": types.FilesPageDeleteDocument,
    "\n  query FilesPageSearch($query: String!, $agentId: ID, $limit: Int) {\n    search(query: $query, agentId: $agentId, limit: $limit) {\n      chunk\n      score\n      file {\n        id\n        originalName\n      }\n    }\n  }\n": types.FilesPageSearchDocument,
    "\n  fragment TasksPageTask on Task {\n    id\n    type\n    state\n    payload\n    progress\n    result\n    error\n    attempts\n    priority\n    retries\n    timeoutSeconds\n    runAt\n    createdAt\n    startedAt\n    completedAt\n    agent {\n      id\n      name\n    }\n    approval {\n      id\n      state\n      expiresAt\n    }\n  }\n": types.TasksPageTaskFragmentDoc,
    "\n  mutation TasksPageCancel($id: ID!) {\n    cancelTask(id: $id) {\n      ...TasksPageTask\n    }\n  }\n": types.TasksPageCancelDocument,
    "\n  subscription TasksPageTaskUpdates($taskId: ID!) {\n    taskUpdates(taskId: $taskId) {\n      ...TasksPageTask\n    }\n  }\n": types.TasksPageTaskUpdatesDocument,
    "\n  fragment TasksPageAgent on Agent {\n    id\n    name\n    type\n    state\n    configuration\n  }\n": types.TasksPageAgentFragmentDoc,
    "\n  query TasksPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          ...TasksPageAgent\n        }\n      }\n    }\n    agentTypes {\n      name\n      taskTypes\n    }\n  }\n": types.TasksPageAgentsDocument,
    "\n  query TasksPageAgent($id: ID!) {\n    agent(id: $id) {\n      ...TasksPageAgent\n    }\n  }\n": types.TasksPageAgentDocument,
    "\n  query TasksPageTasks($filter: TaskFilter, $orderBy: TaskOrder, $first: Int, $after: String) {\n    tasks(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...TasksPageTask\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": types.TasksPageTasksDocument,
    "\n  mutation TasksPageEnqueue($agentId: ID!, $input: TaskInput!, $idempotencyKey: String) {\n    enqueueTask(agentId: $agentId, input: $input, idempotencyKey: $idempotencyKey) {\n      ...TasksPageTask\n    }\n  }\n": types.TasksPageEnqueueDocument,
    "\n  query AuditPageUsers {\n    users(first: 500) {\n      edges {\n        node {\n          id\n          email\n        }\n      }\n    }\n  }\n": types.AuditPageUsersDocument,
    "\n  query AuditPageLog($userId: ID, $action: String, $granted: Boolean, $first: Int, $after: String) {\n    auditLog(userId: $userId, action: $action, granted: $granted, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          action\n          resource\n          granted\n          timestamp\n          requestId\n          user {\n            id\n            email\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.AuditPageLogDocument,
    "\n  fragment UsersPageUser on User {\n    id\n    email\n    displayName\n    role\n    active\n    createdAt\n  }\n": types.UsersPageUserFragmentDoc,
    "\n  query UsersPageUsers($filter: UserFilter, $first: Int, $after: String) {\n    users(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...UsersPageUser\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": types.UsersPageUsersDocument,
    "\n  mutation UsersPageSetRole($userId: ID!, $role: Role!) {\n    setUserRole(userId: $userId, role: $role) {\n      ...UsersPageUser\n    }\n  }\n": types.UsersPageSetRoleDocument,
    "\n  mutation UsersPageSetActive($userId: ID!, $active: Boolean!) {\n    setUserActive(userId: $userId, active: $active) {\n      ...UsersPageUser\n    }\n  }\n": types.UsersPageSetActiveDocument,
    "\n  query ConsoleAgentTypes {\n    agentTypes {\n      name\n      description\n      configSchema\n      taskTypes\n    }\n  }\n": types.ConsoleAgentTypesDocument,
    "\n  mutation ConsoleCreateAgent($input: AgentConfigInput!) {\n    createAgent(input: $input) {\n      id\n      name\n      type\n      state\n      capabilities\n      updatedAt\n    }\n  }\n": types.ConsoleCreateAgentDocument,
    "\n  mutation ConsoleUpdateAgent($id: ID!, $input: AgentConfigPatch!) {\n    updateAgent(id: $id, input: $input) {\n      id\n      name\n      state\n      capabilities\n      updatedAt\n    }\n  }\n": types.ConsoleUpdateAgentDocument,
    "\n  query ConsoleAgentConfiguration($id: ID!) {\n    agent(id: $id) {\n      id\n      configuration\n    }\n  }\n": types.ConsoleAgentConfigurationDocument,
    "\n  query ConsoleAgentApprovalPolicy($id: ID!) {\n    agent(id: $id) {\n      id\n      approvalPolicy {\n        commands\n        taskTypes\n        timeoutSeconds\n      }\n    }\n  }\n": types.ConsoleAgentApprovalPolicyDocument,
    "\n  mutation ConsoleUpdateApprovalPolicy($id: ID!, $input: AgentConfigPatch!) {\n    updateAgent(id: $id, input: $input) {\n      id\n      approvalPolicy {\n        commands\n        taskTypes\n        timeoutSeconds\n      }\n    }\n  }\n": types.ConsoleUpdateApprovalPolicyDocument,
    "\n  mutation ConsoleSendCommand($agentId: ID!, $command: AgentCommandInput!, $idempotencyKey: String) {\n    sendCommand(agentId: $agentId, command: $command, idempotencyKey: $idempotencyKey) {\n      success\n      result\n      error\n      durationMs\n      timestamp\n      approval {\n        id\n        state\n        expiresAt\n      }\n    }\n  }\n": types.ConsoleSendCommandDocument,
    "\n  subscription ConsoleAgentEvents($agentId: ID!, $after: Int) {\n    agentEvents(agentId: $agentId, after: $after) {\n      seq\n      type\n      data\n      timestamp\n    }\n  }\n": types.ConsoleAgentEventsDocument,
    "\n  query ConsoleAgentStatus($id: ID!) {\n    agentStatus(id: $id) {\n      id\n      state\n      lastSeen\n      health {\n        status\n        uptime\n        memoryUsage\n        cpuUsage\n        responseTime\n      }\n      metrics {\n        commandsTotal\n        commandsFailed\n        tasksPending\n        tasksRunning\n        tasksCompleted\n        tasksFailed\n        meanResponseMs\n        p95ResponseMs\n      }\n    }\n  }\n": types.ConsoleAgentStatusDocument,
    "\n  query ConsoleAgentLogs($agentId: ID!, $level: LogLevel, $first: Int, $after: String) {\n    agentLogs(agentId: $agentId, level: $level, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          level\n          message\n          timestamp\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.ConsoleAgentLogsDocument,
    "\n  subscription ConsoleStreamPrompt($agentId: ID!, $input: StreamPromptInput!) {\n    streamPrompt(agentId: $agentId, input: $input) {\n      streamId\n      index\n      delta\n      done\n    }\n  }\n": types.ConsoleStreamPromptDocument,
    "\n  query ApprovalPageOutcome($id: ID!) {\n    approval(id: $id) {\n      id\n      state\n      task {\n        id\n        type\n        state\n        error\n        result\n      }\n      commandResult {\n        success\n        result\n        error\n        timestamp\n      }\n    }\n  }\n": types.ApprovalPageOutcomeDocument,
    "\n  fragment ApprovalsPageApproval on Approval {\n    id\n    kind\n    subject\n    state\n    reason\n    createdAt\n    expiresAt\n    decidedAt\n    agent {\n      id\n      name\n    }\n    requestedBy {\n      id\n      email\n      displayName\n    }\n    decidedBy {\n      id\n      email\n      displayName\n    }\n  }\n": types.ApprovalsPageApprovalFragmentDoc,
    "\n  query ApprovalsPageApprovals($filter: ApprovalFilter, $first: Int, $after: String) {\n    approvals(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApprovalsPageApproval\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": types.ApprovalsPageApprovalsDocument,
    "\n  query ApprovalPageApproval($id: ID!) {\n    approval(id: $id) {\n      ...ApprovalsPageApproval\n    }\n  }\n": types.ApprovalPageApprovalDocument,
    "\n  query ApprovalsPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n": types.ApprovalsPageAgentsDocument,
    "\n  mutation ApprovalsPageDecide($id: ID!, $approve: Boolean!, $reason: String) {\n    decideApproval(id: $id, approve: $approve, reason: $reason) {\n      ...ApprovalsPageApproval\n    }\n  }\n": types.ApprovalsPageDecideDocument,
    "\n  subscription ConsoleApprovalRequests {\n    approvalRequests {\n      ...ApprovalsPageApproval\n    }\n  }\n": types.ConsoleApprovalRequestsDocument,
    "\n  query ConsolePendingApprovals {\n    approvals(filter: { states: [PENDING] }, first: 1) {\n      totalCount\n    }\n  }\n": types.ConsolePendingApprovalsDocument,
    "\n  query SchedulePageSchedule($id: ID!, $first: Int, $after: String) {\n    schedule(id: $id) {\n      ...SchedulesPageSchedule\n      tasks(first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            ...TasksPageTask\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        totalCount\n      }\n    }\n  }\n": types.SchedulePageScheduleDocument,
    "\n  query SchedulesPageSchedules($agentId: ID, $first: Int, $after: String) {\n    schedules(agentId: $agentId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...SchedulesPageSchedule\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": types.SchedulesPageSchedulesDocument,
    "\n  fragment SchedulesPageSchedule on Schedule {\n    id\n    name\n    cron\n    timezone\n    runAt\n    active\n    nextRunAt\n    lastRunAt\n    createdAt\n    agent {\n      id\n      name\n      type\n    }\n    task {\n      type\n      payload\n      priority\n      retries\n      timeoutSeconds\n    }\n  }\n": types.SchedulesPageScheduleFragmentDoc,
    "\n  query SchedulesPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n          type\n          state\n          configuration\n        }\n      }\n    }\n    agentTypes {\n      name\n      taskTypes\n    }\n  }\n": types.SchedulesPageAgentsDocument,
    "\n  mutation SchedulesPageCreate($input: ScheduleInput!) {\n    createSchedule(input: $input) {\n      ...SchedulesPageSchedule\n    }\n  }\n": types.SchedulesPageCreateDocument,
    "\n  mutation SchedulesPageUpdate($id: ID!, $input: SchedulePatch!) {\n    updateSchedule(id: $id, input: $input) {\n      ...SchedulesPageSchedule\n    }\n  }\n": types.SchedulesPageUpdateDocument,
    "\n  mutation SchedulesPageDelete($id: ID!) {\n    deleteSchedule(id: $id)\n  }\n": types.SchedulesPageDeleteDocument,
    "\n  mutation SchedulesPageRunNow($id: ID!) {\n    runScheduleNow(id: $id) {\n      ...TasksPageTask\n    }\n  }\n": types.SchedulesPageRunNowDocument,
    "\n  query ThreadsPageThreads($agentId: ID, $first: Int, $after: String) {\n    threads(agentId: $agentId, orderBy: { field: UPDATED_AT, direction: DESC }, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ThreadsPageThread\n          messages(last: 1) {\n            edges {\n              node {\n                id\n                role\n                content\n              }\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": types.ThreadsPageThreadsDocument,
    "\n  fragment ThreadsPageThread on Thread {\n    id\n    title\n    busy\n    createdAt\n    updatedAt\n    agent {\n      id\n      name\n      type\n      state\n    }\n  }\n": types.ThreadsPageThreadFragmentDoc,
    "\n  fragment ThreadPageMessage on Message {\n    id\n    role\n    content\n    seq\n    interrupted\n    createdAt\n    usage {\n      promptTokens\n      completionTokens\n    }\n  }\n": types.ThreadPageMessageFragmentDoc,
    "\n  query ThreadsPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n          type\n          state\n        }\n      }\n    }\n  }\n": types.ThreadsPageAgentsDocument,
    "\n  query ThreadPageThread($id: ID!, $last: Int!, $before: String) {\n    thread(id: $id) {\n      ...ThreadsPageThread\n      messages(last: $last, before: $before) {\n        edges {\n          cursor\n          node {\n            ...ThreadPageMessage\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n": types.ThreadPageThreadDocument,
    "\n  mutation ThreadsPageCreate($input: ThreadInput!) {\n    createThread(input: $input) {\n      ...ThreadsPageThread\n    }\n  }\n": types.ThreadsPageCreateDocument,
    "\n  mutation ThreadsPageDelete($id: ID!) {\n    deleteThread(id: $id)\n  }\n": types.ThreadsPageDeleteDocument,
    "\n  subscription ThreadPageSend($threadId: ID!, $input: MessageInput!) {\n    sendMessage(threadId: $threadId, input: $input) {\n      streamId\n      index\n      delta\n      done\n    }\n  }\n": types.ThreadPageSendDocument,
    "\n  subscription ThreadPageEvents($agentId: ID!, $after: Int) {\n    agentEvents(agentId: $agentId, after: $after) {\n      seq\n      type\n      data\n      timestamp\n    }\n  }\n": types.ThreadPageEventsDocument,
    "\n  query WebhooksPageDeliveries($id: ID!, $failedOnly: Boolean, $first: Int, $after: String) {\n    webhook(id: $id) {\n      id\n      deliveries(failedOnly: $failedOnly, first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            ...WebhooksPageDelivery\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        totalCount\n      }\n    }\n  }\n": types.WebhooksPageDeliveriesDocument,
    "\n  query WebhooksPageWebhook($id: ID!) {\n    webhook(id: $id) {\n      ...WebhooksPageWebhook\n    }\n  }\n": types.WebhooksPageWebhookDocument,
    "\n  query WebhooksPageWebhooks($first: Int, $after: String) {\n    webhooks(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...WebhooksPageWebhook\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n": types.WebhooksPageWebhooksDocument,
    "\n  fragment WebhooksPageWebhook on Webhook {\n    id\n    url\n    description\n    eventTypes\n    active\n    createdAt\n    agents {\n      id\n      name\n    }\n  }\n": types.WebhooksPageWebhookFragmentDoc,
    "\n  fragment WebhooksPageDelivery on WebhookDelivery {\n    id\n    eventSeq\n    eventType\n    state\n    attempts\n    lastStatusCode\n    lastError\n    nextAttemptAt\n    createdAt\n    deliveredAt\n    agent {\n      id\n      name\n    }\n  }\n": types.WebhooksPageDeliveryFragmentDoc,
    "\n  query WebhooksPageAgents($ownerId: ID!) {\n    agents(filter: { ownerId: $ownerId }, orderBy: { field: NAME, direction: ASC }, first: 500) {\n      edges {\n        node {\n          id\n          name\n          type\n        }\n      }\n    }\n  }\n": types.WebhooksPageAgentsDocument,
    "\n  mutation WebhooksPageCreate($input: WebhookInput!) {\n    createWebhook(input: $input) {\n      secret\n      webhook {\n        ...WebhooksPageWebhook\n      }\n    }\n  }\n": types.WebhooksPageCreateDocument,
    "\n  mutation WebhooksPageUpdate($id: ID!, $input: WebhookPatch!) {\n    updateWebhook(id: $id, input: $input) {\n      ...WebhooksPageWebhook\n    }\n  }\n": types.WebhooksPageUpdateDocument,
    "\n  mutation WebhooksPageDelete($id: ID!) {\n    deleteWebhook(id: $id)\n  }\n": types.WebhooksPageDeleteDocument,
    "\n  mutation WebhooksPageRotate($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      secret\n      webhook {\n        ...WebhooksPageWebhook\n      }\n    }\n  }\n": types.WebhooksPageRotateDocument,
    "\n  mutation WebhooksPageTest($id: ID!) {\n    testWebhook(id: $id) {\n      ...WebhooksPageDelivery\n    }\n  }\n": types.WebhooksPageTestDocument,
    "\n  mutation WebhooksPageRedeliver($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      ...WebhooksPageDelivery\n    }\n  }\n": types.WebhooksPageRedeliverDocument,
    "\n  mutation WebhooksPageReplay($id: ID!, $agentId: ID!, $after: Int!) {\n    replayWebhook(id: $id, agentId: $agentId, after: $after)\n  }\n": types.WebhooksPageReplayDocument,
    "\n  mutation ConsoleLogin($input: LoginInput!) {\n    login(input: $input) {\n      ...AuthPayloadFields\n    }\n  }\n": types.ConsoleLoginDocument,
    "\n  mutation ConsoleRegister($input: RegisterInput!) {\n    register(input: $input) {\n      ...AuthPayloadFields\n    }\n  }\n": types.ConsoleRegisterDocument,
    "\n  mutation ConsoleVerifyMagicLink($token: String!) {\n    verifyMagicLink(token: $token) {\n      ...AuthPayloadFields\n    }\n  }\n": types.ConsoleVerifyMagicLinkDocument,
    "\n  mutation ConsoleRequestMagicLink($email: String!) {\n    requestMagicLink(email: $email)\n  }\n": types.ConsoleRequestMagicLinkDocument,
    "\n  mutation ConsoleLogout {\n    logout\n  }\n": types.ConsoleLogoutDocument,
    "\n  query ConsoleSessionPermissions {\n    session {\n      id\n      permissions\n    }\n  }\n": types.ConsoleSessionPermissionsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AuthPayloadFields on AuthPayload {\n    accessToken\n    refreshToken\n    expiresAt\n    user {\n      id\n      email\n      displayName\n      role\n    }\n  }\n"): (typeof documents)["\n  fragment AuthPayloadFields on AuthPayload {\n    accessToken\n    refreshToken\n    expiresAt\n    user {\n      id\n      email\n      displayName\n      role\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleRefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      ...AuthPayloadFields\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleRefreshToken($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) {\n      ...AuthPayloadFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleAgent($id: ID!) {\n    agent(id: $id) {\n      id\n      name\n      type\n      state\n      capabilities\n      createdAt\n      updatedAt\n      lastSeen\n      resources {\n        memory\n        cpu\n        storage\n        gpu\n      }\n      tasks(first: 10) {\n        edges {\n          node {\n            id\n            type\n            state\n            progress\n            createdAt\n            approval {\n              id\n            }\n          }\n        }\n        pageInfo {\n          hasNextPage\n        }\n        totalCount\n      }\n      files {\n        id\n        originalName\n        size\n        mimeType\n        uploadedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleAgent($id: ID!) {\n    agent(id: $id) {\n      id\n      name\n      type\n      state\n      capabilities\n      createdAt\n      updatedAt\n      lastSeen\n      resources {\n        memory\n        cpu\n        storage\n        gpu\n      }\n      tasks(first: 10) {\n        edges {\n          node {\n            id\n            type\n            state\n            progress\n            createdAt\n            approval {\n              id\n            }\n          }\n        }\n        pageInfo {\n          hasNextPage\n        }\n        totalCount\n      }\n      files {\n        id\n        originalName\n        size\n        mimeType\n        uploadedAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleAgents($filter: AgentFilter, $orderBy: AgentOrder, $first: Int, $after: String) {\n    agents(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          name\n          type\n          state\n          capabilities\n          updatedAt\n          lastSeen\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query ConsoleAgents($filter: AgentFilter, $orderBy: AgentOrder, $first: Int, $after: String) {\n    agents(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          name\n          type\n          state\n          capabilities\n          updatedAt\n          lastSeen\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleAgentStateEvents($agentId: ID!) {\n    agentEvents(agentId: $agentId) {\n      seq\n      type\n      data\n    }\n  }\n"): (typeof documents)["\n  subscription ConsoleAgentStateEvents($agentId: ID!) {\n    agentEvents(agentId: $agentId) {\n      seq\n      type\n      data\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleStopAgent($id: ID!) {\n    stopAgent(id: $id) {\n      id\n      state\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleStopAgent($id: ID!) {\n    stopAgent(id: $id) {\n      id\n      state\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleRestartAgent($id: ID!) {\n    restartAgent(id: $id) {\n      id\n      state\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleRestartAgent($id: ID!) {\n    restartAgent(id: $id) {\n      id\n      state\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleDeleteAgent($id: ID!) {\n    deleteAgent(id: $id)\n  }\n"): (typeof documents)["\n  mutation ConsoleDeleteAgent($id: ID!) {\n    deleteAgent(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ApiKeysPageKey on ApiKey {\n    id\n    name\n    prefix\n    permissions\n    agentIds\n    createdAt\n    expiresAt\n    lastUsedAt\n    active\n  }\n"): (typeof documents)["\n  fragment ApiKeysPageKey on ApiKey {\n    id\n    name\n    prefix\n    permissions\n    agentIds\n    createdAt\n    expiresAt\n    lastUsedAt\n    active\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ApiKeysPageKeys($includeRevoked: Boolean, $first: Int, $after: String) {\n    apiKeys(includeRevoked: $includeRevoked, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApiKeysPageKey\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query ApiKeysPageKeys($includeRevoked: Boolean, $first: Int, $after: String) {\n    apiKeys(includeRevoked: $includeRevoked, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApiKeysPageKey\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ApiKeysPageAgents($ownerId: ID!) {\n    agents(filter: { ownerId: $ownerId }, orderBy: { field: NAME, direction: ASC }, first: 500) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ApiKeysPageAgents($ownerId: ID!) {\n    agents(filter: { ownerId: $ownerId }, orderBy: { field: NAME, direction: ASC }, first: 500) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ApiKeysPageCreate($input: ApiKeyInput!) {\n    createApiKey(input: $input) {\n      secret\n      apiKey {\n        ...ApiKeysPageKey\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ApiKeysPageCreate($input: ApiKeyInput!) {\n    createApiKey(input: $input) {\n      secret\n      apiKey {\n        ...ApiKeysPageKey\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ApiKeysPageRevoke($id: ID!) {\n    revokeApiKey(id: $id) {\n      ...ApiKeysPageKey\n    }\n  }\n"): (typeof documents)["\n  mutation ApiKeysPageRevoke($id: ID!) {\n    revokeApiKey(id: $id) {\n      ...ApiKeysPageKey\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment FilesPageFile on File {\n    id\n    originalName\n    size\n    mimeType\n    checksum\n    scanStatus\n    uploadedAt\n    uploadedBy {\n      id\n      email\n    }\n    agent {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  fragment FilesPageFile on File {\n    id\n    originalName\n    size\n    mimeType\n    checksum\n    scanStatus\n    uploadedAt\n    uploadedBy {\n      id\n      email\n    }\n    agent {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FilesPageFiles($filter: FileFilter, $orderBy: FileOrder, $first: Int, $after: String) {\n    files(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...FilesPageFile\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query FilesPageFiles($filter: FileFilter, $orderBy: FileOrder, $first: Int, $after: String) {\n    files(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...FilesPageFile\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FilesPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query FilesPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FilesPageUpload($file: Upload!, $agentId: ID) {\n    uploadFile(file: $file, agentId: $agentId) {\n      ...FilesPageFile\n    }\n  }\n"): (typeof documents)["\n  mutation FilesPageUpload($file: Upload!, $agentId: ID) {\n    uploadFile(file: $file, agentId: $agentId) {\n      ...FilesPageFile\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FilesPageDownloadUrl($id: ID!) {\n    file(id: $id) {\n      id\n      url\n    }\n  }\n"): (typeof documents)["\n  query FilesPageDownloadUrl($id: ID!) {\n    file(id: $id) {\n      id\n      url\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FilesPageDelete($id: ID!) {\n    deleteFile(id: $id)\n  }\n"): (typeof documents)["\n  mutation FilesPageDelete($id: ID!) {\n    deleteFile(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FilesPageSearch($query: String!, $agentId: ID, $limit: Int) {\n    search(query: $query, agentId: $agentId, limit: $limit) {\n      chunk\n      score\n      file {\n        id\n        originalName\n      }\n    }\n  }\n"): (typeof documents)["\n  query FilesPageSearch($query: String!, $agentId: ID, $limit: Int) {\n    search(query: $query, agentId: $agentId, limit: $limit) {\n      chunk\n      score\n      file {\n        id\n        originalName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TasksPageTask on Task {\n    id\n    type\n    state\n    payload\n    progress\n    result\n    error\n    attempts\n    priority\n    retries\n    timeoutSeconds\n    runAt\n    createdAt\n    startedAt\n    completedAt\n    agent {\n      id\n      name\n    }\n    approval {\n      id\n      state\n      expiresAt\n    }\n  }\n"): (typeof documents)["\n  fragment TasksPageTask on Task {\n    id\n    type\n    state\n    payload\n    progress\n    result\n    error\n    attempts\n    priority\n    retries\n    timeoutSeconds\n    runAt\n    createdAt\n    startedAt\n    completedAt\n    agent {\n      id\n      name\n    }\n    approval {\n      id\n      state\n      expiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TasksPageCancel($id: ID!) {\n    cancelTask(id: $id) {\n      ...TasksPageTask\n    }\n  }\n"): (typeof documents)["\n  mutation TasksPageCancel($id: ID!) {\n    cancelTask(id: $id) {\n      ...TasksPageTask\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TasksPageTaskUpdates($taskId: ID!) {\n    taskUpdates(taskId: $taskId) {\n      ...TasksPageTask\n    }\n  }\n"): (typeof documents)["\n  subscription TasksPageTaskUpdates($taskId: ID!) {\n    taskUpdates(taskId: $taskId) {\n      ...TasksPageTask\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TasksPageAgent on Agent {\n    id\n    name\n    type\n    state\n    configuration\n  }\n"): (typeof documents)["\n  fragment TasksPageAgent on Agent {\n    id\n    name\n    type\n    state\n    configuration\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TasksPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          ...TasksPageAgent\n        }\n      }\n    }\n    agentTypes {\n      name\n      taskTypes\n    }\n  }\n"): (typeof documents)["\n  query TasksPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          ...TasksPageAgent\n        }\n      }\n    }\n    agentTypes {\n      name\n      taskTypes\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TasksPageAgent($id: ID!) {\n    agent(id: $id) {\n      ...TasksPageAgent\n    }\n  }\n"): (typeof documents)["\n  query TasksPageAgent($id: ID!) {\n    agent(id: $id) {\n      ...TasksPageAgent\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TasksPageTasks($filter: TaskFilter, $orderBy: TaskOrder, $first: Int, $after: String) {\n    tasks(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...TasksPageTask\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query TasksPageTasks($filter: TaskFilter, $orderBy: TaskOrder, $first: Int, $after: String) {\n    tasks(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...TasksPageTask\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TasksPageEnqueue($agentId: ID!, $input: TaskInput!, $idempotencyKey: String) {\n    enqueueTask(agentId: $agentId, input: $input, idempotencyKey: $idempotencyKey) {\n      ...TasksPageTask\n    }\n  }\n"): (typeof documents)["\n  mutation TasksPageEnqueue($agentId: ID!, $input: TaskInput!, $idempotencyKey: String) {\n    enqueueTask(agentId: $agentId, input: $input, idempotencyKey: $idempotencyKey) {\n      ...TasksPageTask\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuditPageUsers {\n    users(first: 500) {\n      edges {\n        node {\n          id\n          email\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AuditPageUsers {\n    users(first: 500) {\n      edges {\n        node {\n          id\n          email\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuditPageLog($userId: ID, $action: String, $granted: Boolean, $first: Int, $after: String) {\n    auditLog(userId: $userId, action: $action, granted: $granted, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          action\n          resource\n          granted\n          timestamp\n          requestId\n          user {\n            id\n            email\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query AuditPageLog($userId: ID, $action: String, $granted: Boolean, $first: Int, $after: String) {\n    auditLog(userId: $userId, action: $action, granted: $granted, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          action\n          resource\n          granted\n          timestamp\n          requestId\n          user {\n            id\n            email\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment UsersPageUser on User {\n    id\n    email\n    displayName\n    role\n    active\n    createdAt\n  }\n"): (typeof documents)["\n  fragment UsersPageUser on User {\n    id\n    email\n    displayName\n    role\n    active\n    createdAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UsersPageUsers($filter: UserFilter, $first: Int, $after: String) {\n    users(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...UsersPageUser\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query UsersPageUsers($filter: UserFilter, $first: Int, $after: String) {\n    users(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...UsersPageUser\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UsersPageSetRole($userId: ID!, $role: Role!) {\n    setUserRole(userId: $userId, role: $role) {\n      ...UsersPageUser\n    }\n  }\n"): (typeof documents)["\n  mutation UsersPageSetRole($userId: ID!, $role: Role!) {\n    setUserRole(userId: $userId, role: $role) {\n      ...UsersPageUser\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UsersPageSetActive($userId: ID!, $active: Boolean!) {\n    setUserActive(userId: $userId, active: $active) {\n      ...UsersPageUser\n    }\n  }\n"): (typeof documents)["\n  mutation UsersPageSetActive($userId: ID!, $active: Boolean!) {\n    setUserActive(userId: $userId, active: $active) {\n      ...UsersPageUser\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleAgentTypes {\n    agentTypes {\n      name\n      description\n      configSchema\n      taskTypes\n    }\n  }\n"): (typeof documents)["\n  query ConsoleAgentTypes {\n    agentTypes {\n      name\n      description\n      configSchema\n      taskTypes\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCreateAgent($input: AgentConfigInput!) {\n    createAgent(input: $input) {\n      id\n      name\n      type\n      state\n      capabilities\n      updatedAt\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleCreateAgent($input: AgentConfigInput!) {\n    createAgent(input: $input) {\n      id\n      name\n      type\n      state\n      capabilities\n      updatedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleUpdateAgent($id: ID!, $input: AgentConfigPatch!) {\n    updateAgent(id: $id, input: $input) {\n      id\n      name\n      state\n      capabilities\n      updatedAt\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleUpdateAgent($id: ID!, $input: AgentConfigPatch!) {\n    updateAgent(id: $id, input: $input) {\n      id\n      name\n      state\n      capabilities\n      updatedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleAgentConfiguration($id: ID!) {\n    agent(id: $id) {\n      id\n      configuration\n    }\n  }\n"): (typeof documents)["\n  query ConsoleAgentConfiguration($id: ID!) {\n    agent(id: $id) {\n      id\n      configuration\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleAgentApprovalPolicy($id: ID!) {\n    agent(id: $id) {\n      id\n      approvalPolicy {\n        commands\n        taskTypes\n        timeoutSeconds\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleAgentApprovalPolicy($id: ID!) {\n    agent(id: $id) {\n      id\n      approvalPolicy {\n        commands\n        taskTypes\n        timeoutSeconds\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleUpdateApprovalPolicy($id: ID!, $input: AgentConfigPatch!) {\n    updateAgent(id: $id, input: $input) {\n      id\n      approvalPolicy {\n        commands\n        taskTypes\n        timeoutSeconds\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleUpdateApprovalPolicy($id: ID!, $input: AgentConfigPatch!) {\n    updateAgent(id: $id, input: $input) {\n      id\n      approvalPolicy {\n        commands\n        taskTypes\n        timeoutSeconds\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleSendCommand($agentId: ID!, $command: AgentCommandInput!, $idempotencyKey: String) {\n    sendCommand(agentId: $agentId, command: $command, idempotencyKey: $idempotencyKey) {\n      success\n      result\n      error\n      durationMs\n      timestamp\n      approval {\n        id\n        state\n        expiresAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleSendCommand($agentId: ID!, $command: AgentCommandInput!, $idempotencyKey: String) {\n    sendCommand(agentId: $agentId, command: $command, idempotencyKey: $idempotencyKey) {\n      success\n      result\n      error\n      durationMs\n      timestamp\n      approval {\n        id\n        state\n        expiresAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleAgentEvents($agentId: ID!, $after: Int) {\n    agentEvents(agentId: $agentId, after: $after) {\n      seq\n      type\n      data\n      timestamp\n    }\n  }\n"): (typeof documents)["\n  subscription ConsoleAgentEvents($agentId: ID!, $after: Int) {\n    agentEvents(agentId: $agentId, after: $after) {\n      seq\n      type\n      data\n      timestamp\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleAgentStatus($id: ID!) {\n    agentStatus(id: $id) {\n      id\n      state\n      lastSeen\n      health {\n        status\n        uptime\n        memoryUsage\n        cpuUsage\n        responseTime\n      }\n      metrics {\n        commandsTotal\n        commandsFailed\n        tasksPending\n        tasksRunning\n        tasksCompleted\n        tasksFailed\n        meanResponseMs\n        p95ResponseMs\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleAgentStatus($id: ID!) {\n    agentStatus(id: $id) {\n      id\n      state\n      lastSeen\n      health {\n        status\n        uptime\n        memoryUsage\n        cpuUsage\n        responseTime\n      }\n      metrics {\n        commandsTotal\n        commandsFailed\n        tasksPending\n        tasksRunning\n        tasksCompleted\n        tasksFailed\n        meanResponseMs\n        p95ResponseMs\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleAgentLogs($agentId: ID!, $level: LogLevel, $first: Int, $after: String) {\n    agentLogs(agentId: $agentId, level: $level, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          level\n          message\n          timestamp\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleAgentLogs($agentId: ID!, $level: LogLevel, $first: Int, $after: String) {\n    agentLogs(agentId: $agentId, level: $level, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          level\n          message\n          timestamp\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleStreamPrompt($agentId: ID!, $input: StreamPromptInput!) {\n    streamPrompt(agentId: $agentId, input: $input) {\n      streamId\n      index\n      delta\n      done\n    }\n  }\n"): (typeof documents)["\n  subscription ConsoleStreamPrompt($agentId: ID!, $input: StreamPromptInput!) {\n    streamPrompt(agentId: $agentId, input: $input) {\n      streamId\n      index\n      delta\n      done\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ApprovalPageOutcome($id: ID!) {\n    approval(id: $id) {\n      id\n      state\n      task {\n        id\n        type\n        state\n        error\n        result\n      }\n      commandResult {\n        success\n        result\n        error\n        timestamp\n      }\n    }\n  }\n"): (typeof documents)["\n  query ApprovalPageOutcome($id: ID!) {\n    approval(id: $id) {\n      id\n      state\n      task {\n        id\n        type\n        state\n        error\n        result\n      }\n      commandResult {\n        success\n        result\n        error\n        timestamp\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ApprovalsPageApproval on Approval {\n    id\n    kind\n    subject\n    state\n    reason\n    createdAt\n    expiresAt\n    decidedAt\n    agent {\n      id\n      name\n    }\n    requestedBy {\n      id\n      email\n      displayName\n    }\n    decidedBy {\n      id\n      email\n      displayName\n    }\n  }\n"): (typeof documents)["\n  fragment ApprovalsPageApproval on Approval {\n    id\n    kind\n    subject\n    state\n    reason\n    createdAt\n    expiresAt\n    decidedAt\n    agent {\n      id\n      name\n    }\n    requestedBy {\n      id\n      email\n      displayName\n    }\n    decidedBy {\n      id\n      email\n      displayName\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ApprovalsPageApprovals($filter: ApprovalFilter, $first: Int, $after: String) {\n    approvals(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApprovalsPageApproval\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query ApprovalsPageApprovals($filter: ApprovalFilter, $first: Int, $after: String) {\n    approvals(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ApprovalsPageApproval\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ApprovalPageApproval($id: ID!) {\n    approval(id: $id) {\n      ...ApprovalsPageApproval\n    }\n  }\n"): (typeof documents)["\n  query ApprovalPageApproval($id: ID!) {\n    approval(id: $id) {\n      ...ApprovalsPageApproval\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ApprovalsPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ApprovalsPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ApprovalsPageDecide($id: ID!, $approve: Boolean!, $reason: String) {\n    decideApproval(id: $id, approve: $approve, reason: $reason) {\n      ...ApprovalsPageApproval\n    }\n  }\n"): (typeof documents)["\n  mutation ApprovalsPageDecide($id: ID!, $approve: Boolean!, $reason: String) {\n    decideApproval(id: $id, approve: $approve, reason: $reason) {\n      ...ApprovalsPageApproval\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleApprovalRequests {\n    approvalRequests {\n      ...ApprovalsPageApproval\n    }\n  }\n"): (typeof documents)["\n  subscription ConsoleApprovalRequests {\n    approvalRequests {\n      ...ApprovalsPageApproval\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsolePendingApprovals {\n    approvals(filter: { states: [PENDING] }, first: 1) {\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query ConsolePendingApprovals {\n    approvals(filter: { states: [PENDING] }, first: 1) {\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SchedulePageSchedule($id: ID!, $first: Int, $after: String) {\n    schedule(id: $id) {\n      ...SchedulesPageSchedule\n      tasks(first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            ...TasksPageTask\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        totalCount\n      }\n    }\n  }\n"): (typeof documents)["\n  query SchedulePageSchedule($id: ID!, $first: Int, $after: String) {\n    schedule(id: $id) {\n      ...SchedulesPageSchedule\n      tasks(first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            ...TasksPageTask\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        totalCount\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SchedulesPageSchedules($agentId: ID, $first: Int, $after: String) {\n    schedules(agentId: $agentId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...SchedulesPageSchedule\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query SchedulesPageSchedules($agentId: ID, $first: Int, $after: String) {\n    schedules(agentId: $agentId, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...SchedulesPageSchedule\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment SchedulesPageSchedule on Schedule {\n    id\n    name\n    cron\n    timezone\n    runAt\n    active\n    nextRunAt\n    lastRunAt\n    createdAt\n    agent {\n      id\n      name\n      type\n    }\n    task {\n      type\n      payload\n      priority\n      retries\n      timeoutSeconds\n    }\n  }\n"): (typeof documents)["\n  fragment SchedulesPageSchedule on Schedule {\n    id\n    name\n    cron\n    timezone\n    runAt\n    active\n    nextRunAt\n    lastRunAt\n    createdAt\n    agent {\n      id\n      name\n      type\n    }\n    task {\n      type\n      payload\n      priority\n      retries\n      timeoutSeconds\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SchedulesPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n          type\n          state\n          configuration\n        }\n      }\n    }\n    agentTypes {\n      name\n      taskTypes\n    }\n  }\n"): (typeof documents)["\n  query SchedulesPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n          type\n          state\n          configuration\n        }\n      }\n    }\n    agentTypes {\n      name\n      taskTypes\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SchedulesPageCreate($input: ScheduleInput!) {\n    createSchedule(input: $input) {\n      ...SchedulesPageSchedule\n    }\n  }\n"): (typeof documents)["\n  mutation SchedulesPageCreate($input: ScheduleInput!) {\n    createSchedule(input: $input) {\n      ...SchedulesPageSchedule\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SchedulesPageUpdate($id: ID!, $input: SchedulePatch!) {\n    updateSchedule(id: $id, input: $input) {\n      ...SchedulesPageSchedule\n    }\n  }\n"): (typeof documents)["\n  mutation SchedulesPageUpdate($id: ID!, $input: SchedulePatch!) {\n    updateSchedule(id: $id, input: $input) {\n      ...SchedulesPageSchedule\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SchedulesPageDelete($id: ID!) {\n    deleteSchedule(id: $id)\n  }\n"): (typeof documents)["\n  mutation SchedulesPageDelete($id: ID!) {\n    deleteSchedule(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SchedulesPageRunNow($id: ID!) {\n    runScheduleNow(id: $id) {\n      ...TasksPageTask\n    }\n  }\n"): (typeof documents)["\n  mutation SchedulesPageRunNow($id: ID!) {\n    runScheduleNow(id: $id) {\n      ...TasksPageTask\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ThreadsPageThreads($agentId: ID, $first: Int, $after: String) {\n    threads(agentId: $agentId, orderBy: { field: UPDATED_AT, direction: DESC }, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ThreadsPageThread\n          messages(last: 1) {\n            edges {\n              node {\n                id\n                role\n                content\n              }\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query ThreadsPageThreads($agentId: ID, $first: Int, $after: String) {\n    threads(agentId: $agentId, orderBy: { field: UPDATED_AT, direction: DESC }, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...ThreadsPageThread\n          messages(last: 1) {\n            edges {\n              node {\n                id\n                role\n                content\n              }\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ThreadsPageThread on Thread {\n    id\n    title\n    busy\n    createdAt\n    updatedAt\n    agent {\n      id\n      name\n      type\n      state\n    }\n  }\n"): (typeof documents)["\n  fragment ThreadsPageThread on Thread {\n    id\n    title\n    busy\n    createdAt\n    updatedAt\n    agent {\n      id\n      name\n      type\n      state\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ThreadPageMessage on Message {\n    id\n    role\n    content\n    seq\n    interrupted\n    createdAt\n    usage {\n      promptTokens\n      completionTokens\n    }\n  }\n"): (typeof documents)["\n  fragment ThreadPageMessage on Message {\n    id\n    role\n    content\n    seq\n    interrupted\n    createdAt\n    usage {\n      promptTokens\n      completionTokens\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ThreadsPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n          type\n          state\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ThreadsPageAgents {\n    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {\n      edges {\n        node {\n          id\n          name\n          type\n          state\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ThreadPageThread($id: ID!, $last: Int!, $before: String) {\n    thread(id: $id) {\n      ...ThreadsPageThread\n      messages(last: $last, before: $before) {\n        edges {\n          cursor\n          node {\n            ...ThreadPageMessage\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ThreadPageThread($id: ID!, $last: Int!, $before: String) {\n    thread(id: $id) {\n      ...ThreadsPageThread\n      messages(last: $last, before: $before) {\n        edges {\n          cursor\n          node {\n            ...ThreadPageMessage\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ThreadsPageCreate($input: ThreadInput!) {\n    createThread(input: $input) {\n      ...ThreadsPageThread\n    }\n  }\n"): (typeof documents)["\n  mutation ThreadsPageCreate($input: ThreadInput!) {\n    createThread(input: $input) {\n      ...ThreadsPageThread\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ThreadsPageDelete($id: ID!) {\n    deleteThread(id: $id)\n  }\n"): (typeof documents)["\n  mutation ThreadsPageDelete($id: ID!) {\n    deleteThread(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ThreadPageSend($threadId: ID!, $input: MessageInput!) {\n    sendMessage(threadId: $threadId, input: $input) {\n      streamId\n      index\n      delta\n      done\n    }\n  }\n"): (typeof documents)["\n  subscription ThreadPageSend($threadId: ID!, $input: MessageInput!) {\n    sendMessage(threadId: $threadId, input: $input) {\n      streamId\n      index\n      delta\n      done\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ThreadPageEvents($agentId: ID!, $after: Int) {\n    agentEvents(agentId: $agentId, after: $after) {\n      seq\n      type\n      data\n      timestamp\n    }\n  }\n"): (typeof documents)["\n  subscription ThreadPageEvents($agentId: ID!, $after: Int) {\n    agentEvents(agentId: $agentId, after: $after) {\n      seq\n      type\n      data\n      timestamp\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebhooksPageDeliveries($id: ID!, $failedOnly: Boolean, $first: Int, $after: String) {\n    webhook(id: $id) {\n      id\n      deliveries(failedOnly: $failedOnly, first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            ...WebhooksPageDelivery\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        totalCount\n      }\n    }\n  }\n"): (typeof documents)["\n  query WebhooksPageDeliveries($id: ID!, $failedOnly: Boolean, $first: Int, $after: String) {\n    webhook(id: $id) {\n      id\n      deliveries(failedOnly: $failedOnly, first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            ...WebhooksPageDelivery\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        totalCount\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebhooksPageWebhook($id: ID!) {\n    webhook(id: $id) {\n      ...WebhooksPageWebhook\n    }\n  }\n"): (typeof documents)["\n  query WebhooksPageWebhook($id: ID!) {\n    webhook(id: $id) {\n      ...WebhooksPageWebhook\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebhooksPageWebhooks($first: Int, $after: String) {\n    webhooks(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...WebhooksPageWebhook\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"): (typeof documents)["\n  query WebhooksPageWebhooks($first: Int, $after: String) {\n    webhooks(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...WebhooksPageWebhook\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      totalCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment WebhooksPageWebhook on Webhook {\n    id\n    url\n    description\n    eventTypes\n    active\n    createdAt\n    agents {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  fragment WebhooksPageWebhook on Webhook {\n    id\n    url\n    description\n    eventTypes\n    active\n    createdAt\n    agents {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment WebhooksPageDelivery on WebhookDelivery {\n    id\n    eventSeq\n    eventType\n    state\n    attempts\n    lastStatusCode\n    lastError\n    nextAttemptAt\n    createdAt\n    deliveredAt\n    agent {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  fragment WebhooksPageDelivery on WebhookDelivery {\n    id\n    eventSeq\n    eventType\n    state\n    attempts\n    lastStatusCode\n    lastError\n    nextAttemptAt\n    createdAt\n    deliveredAt\n    agent {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebhooksPageAgents($ownerId: ID!) {\n    agents(filter: { ownerId: $ownerId }, orderBy: { field: NAME, direction: ASC }, first: 500) {\n      edges {\n        node {\n          id\n          name\n          type\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query WebhooksPageAgents($ownerId: ID!) {\n    agents(filter: { ownerId: $ownerId }, orderBy: { field: NAME, direction: ASC }, first: 500) {\n      edges {\n        node {\n          id\n          name\n          type\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebhooksPageCreate($input: WebhookInput!) {\n    createWebhook(input: $input) {\n      secret\n      webhook {\n        ...WebhooksPageWebhook\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation WebhooksPageCreate($input: WebhookInput!) {\n    createWebhook(input: $input) {\n      secret\n      webhook {\n        ...WebhooksPageWebhook\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebhooksPageUpdate($id: ID!, $input: WebhookPatch!) {\n    updateWebhook(id: $id, input: $input) {\n      ...WebhooksPageWebhook\n    }\n  }\n"): (typeof documents)["\n  mutation WebhooksPageUpdate($id: ID!, $input: WebhookPatch!) {\n    updateWebhook(id: $id, input: $input) {\n      ...WebhooksPageWebhook\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebhooksPageDelete($id: ID!) {\n    deleteWebhook(id: $id)\n  }\n"): (typeof documents)["\n  mutation WebhooksPageDelete($id: ID!) {\n    deleteWebhook(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebhooksPageRotate($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      secret\n      webhook {\n        ...WebhooksPageWebhook\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation WebhooksPageRotate($id: ID!) {\n    rotateWebhookSecret(id: $id) {\n      secret\n      webhook {\n        ...WebhooksPageWebhook\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebhooksPageTest($id: ID!) {\n    testWebhook(id: $id) {\n      ...WebhooksPageDelivery\n    }\n  }\n"): (typeof documents)["\n  mutation WebhooksPageTest($id: ID!) {\n    testWebhook(id: $id) {\n      ...WebhooksPageDelivery\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebhooksPageRedeliver($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      ...WebhooksPageDelivery\n    }\n  }\n"): (typeof documents)["\n  mutation WebhooksPageRedeliver($deliveryId: ID!) {\n    redeliverWebhook(deliveryId: $deliveryId) {\n      ...WebhooksPageDelivery\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebhooksPageReplay($id: ID!, $agentId: ID!, $after: Int!) {\n    replayWebhook(id: $id, agentId: $agentId, after: $after)\n  }\n"): (typeof documents)["\n  mutation WebhooksPageReplay($id: ID!, $agentId: ID!, $after: Int!) {\n    replayWebhook(id: $id, agentId: $agentId, after: $after)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleLogin($input: LoginInput!) {\n    login(input: $input) {\n      ...AuthPayloadFields\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleLogin($input: LoginInput!) {\n    login(input: $input) {\n      ...AuthPayloadFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleRegister($input: RegisterInput!) {\n    register(input: $input) {\n      ...AuthPayloadFields\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleRegister($input: RegisterInput!) {\n    register(input: $input) {\n      ...AuthPayloadFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleVerifyMagicLink($token: String!) {\n    verifyMagicLink(token: $token) {\n      ...AuthPayloadFields\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleVerifyMagicLink($token: String!) {\n    verifyMagicLink(token: $token) {\n      ...AuthPayloadFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleRequestMagicLink($email: String!) {\n    requestMagicLink(email: $email)\n  }\n"): (typeof documents)["\n  mutation ConsoleRequestMagicLink($email: String!) {\n    requestMagicLink(email: $email)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleLogout {\n    logout\n  }\n"): (typeof documents)["\n  mutation ConsoleLogout {\n    logout\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleSessionPermissions {\n    session {\n      id\n      permissions\n    }\n  }\n"): (typeof documents)["\n  query ConsoleSessionPermissions {\n    session {\n      id\n      permissions\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;