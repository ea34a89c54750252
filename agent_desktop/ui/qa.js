// The qa pages (filled by their issue).
export const qaRoutes = [];
